"""RESETKEY, GENURLAUTH and URLFETCH (RFC 4467 §7), with URLAUTH=BINARY (RFC 5524 §3) and URL-PARTIAL (RFC 5550).

The CPM "generate reference" and "fetch by reference" operations. A user
signs a URL of one of their own messages (or a part of it) with GENURLAUTH;
anyone the URL's access identifier names may then fetch those bytes with
URLFETCH, without any right on the owner's folder. The owner's keys live in
the owner's index, one per folder; RESETKEY revokes what they signed.

Everything is checked again at fetch time against the current state: the
key (a RESETKEY revokes), the folder's name (a folder renamed away gives
NIL), the owner's ``r`` right, UIDVALIDITY and the UID (an expunged message
gives NIL), the expiry and the access identifier. Any failure is
``* URLFETCH url NIL`` (RFC 4467 §7), with an untagged NO saying why once
the failure tells the holder nothing they did not know (as Dovecot does);
an unknown owner, folder or missing key gives NIL alone. URLFETCH never
sets \\Seen. The pure rules (tokens, expiry, access) are
``cpmstore.auth.urlauth``; the URL syntax ``cpmstore.imap.imapurl``.
"""

from __future__ import annotations

from datetime import datetime, timezone

from ..auth.urlauth import (
    INTERNAL, UrlAuthError, access_allows, authorize, check_full, check_rump, token_matches,
)
from ..errors import BadCommand, IMAPError, NoSuchMailbox
from ..imap import response as wire
from ..imap.commands import GenUrlAuth, ResetKey, UrlFetch, UrlFetchArg
from ..imap.fetchatt import Section, read_fetch_att
from ..imap.imapurl import BadUrl, ImapUrl, parse_imap_url
from ..imap.reader import ParseError, Reader, normalize_mailbox
from ..imap.response import Run, encode_value
from ..mime.binary import UnknownTransferEncoding, binary_section
from ..mime.bodystructure import body_value
from ..mime.parse import parse_message
from ..mime.sections import fetch_section, find_part
from ..server import access
from .reply import Reply

_URLMECH = b"URLMECH " + INTERNAL.encode()


class _Silent(Exception):
    """A URL that names nothing (unknown owner, folder or key): NIL, no reason given."""


# -- commands --------------------------------------------------------------------
async def resetkey(session, cmd: ResetKey) -> Reply:
    """``RESETKEY``: every key of the user; ``RESETKEY mailbox [mechanism ...]``: that folder's."""
    unknown = [m for m in cmd.mechanisms if m != INTERNAL]
    if unknown:
        raise IMAPError(f"Unsupported URLAUTH mechanism: {unknown[0]}")
    if cmd.mailbox is None:
        await session.account.reset_urlauth_keys()
        return Reply.ok("All keys removed.")
    name = await _own_folder(session, cmd.mailbox, "")
    await session.account.reset_urlauth_keys(name)
    return Reply.ok("Key removed.", _URLMECH)


async def genurlauth(session, cmd: GenUrlAuth) -> Reply:
    """One authorized URL per (rump, mechanism) pair, all in one response, or a
    tagged BAD naming the first rump that cannot be signed (as Dovecot)."""
    now = datetime.now(timezone.utc)
    signed = []
    for raw, mechanism in cmd.pairs:
        if mechanism != INTERNAL:
            raise BadCommand(f"Unsupported URLAUTH mechanism: {mechanism}")
        try:
            url = _absolute(raw)
            check_rump(url, session.user, now)
            _check_server(session, url)
            _section(url.section)
            try:
                name = await _own_folder(session, url.mailbox, "r")
            except IMAPError:
                raise UrlAuthError(f"Invalid URL: Mailbox doesn't exist: {url.mailbox}") from None
            mailbox = await session.account.open_mailbox(name)
            if url.uid_validity is not None and url.uid_validity != mailbox.uid_validity:
                raise UrlAuthError("Invalid URL: Invalid UIDVALIDITY")
            if url.uid not in mailbox:
                raise UrlAuthError("Invalid URL: Message not found")
        except UrlAuthError as exc:
            raise BadCommand(str(exc)) from None
        key = await session.account.urlauth_key(name, create=True)
        signed.append(authorize(url.rump, key))
    session.send(wire.untagged(b"GENURLAUTH " + b" ".join(wire.astring(url) for url in signed)))
    return Reply.ok("GENURLAUTH completed.")


async def urlfetch(session, cmd: UrlFetch) -> Reply:
    now = datetime.now(timezone.utc)
    for arg in cmd.urls:
        head = b"URLFETCH " + wire.astring(arg.url) + b" "
        try:
            session.send(wire.untagged(head + await _fetch(session, arg, now)))
        except _Silent:
            session.send(wire.untagged(head + b"NIL"))
        except UrlAuthError as exc:
            session.send(wire.untagged(head + b"NIL"))
            session.send(wire.untagged_status(b"NO", f"Failed to fetch URLAUTH: {exc}."))
    return Reply.ok("URLFETCH completed.")


# -- resolving and checking a URL ---------------------------------------------------
def _absolute(raw: bytes) -> ImapUrl:
    """The URL, which must be absolute (RFC 4467 §3: the server and user are
    part of what is signed)."""
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError:
        raise UrlAuthError("Invalid URL: not ASCII") from None
    if not text[:7].lower() == "imap://":
        raise UrlAuthError("Relative URL not allowed")
    try:
        return parse_imap_url(text)
    except BadUrl as exc:
        raise UrlAuthError(f"Invalid URL: {exc}") from None


def _check_server(session, url: ImapUrl) -> None:
    """The URL must name this server: ``[server] hostname`` or the address the
    client reached, and the port of that listener if it gives one. A URL
    without a port is taken as this server's: a deployment often maps port
    143 onto another, which the server cannot see."""
    local = _local_address(session)
    hosts = {session.context.config.server.hostname.lower()}
    if local is not None:
        hosts.add(local[0].lower())
        hosts.add(f"[{local[0].lower()}]")
    if url.host not in hosts:
        raise UrlAuthError("Invalid URL: Inappropriate server host")
    if url.port is not None and (local is None or url.port != local[1]):
        raise UrlAuthError("Invalid URL: Inappropriate server port")


def _local_address(session) -> tuple[str, int] | None:
    try:
        address = session.protocol.transport.getHost()
        return str(address.host), int(address.port)
    except AttributeError:
        return None


async def _own_folder(session, name: str, need: str) -> str:
    """The session user's own folder ``name`` (keys are per owner and folder,
    so a folder in the other users' namespace is none of theirs to sign)."""
    name = normalize_mailbox(name)
    if access.split_other(session, name) is not None:
        raise NoSuchMailbox()
    return (await access.folder(session, name, need)).name


def _section(spec: str | None) -> Section | None:
    """The ``;SECTION=`` value read as a FETCH section-spec (RFC 5092 §3)."""
    if spec is None:
        return None
    try:
        reader = Reader(b"BODY[" + spec.encode("utf-8") + b"]")
        section = read_fetch_att(reader).section
        reader.end()
    except ParseError:
        raise UrlAuthError("Invalid URL: Invalid section") from None
    return section


async def _fetch(session, arg: UrlFetchArg, now: datetime) -> bytes:
    """The response data for one URL (after ``URLFETCH url SP``)."""
    url = _absolute(arg.url)
    check_full(url, now)
    _check_server(session, url)
    section = _section(url.section)
    if not access_allows(url.access, session.user):
        raise UrlAuthError(f"No '{url.access}' access allowed for user {session.user}")
    account = session.account if url.user == session.user else \
        await session.context.store.existing_account(url.user)
    if account is None:
        raise _Silent()
    name = normalize_mailbox(url.mailbox)
    try:
        key = await account.urlauth_key(name)
    except NoSuchMailbox:
        raise _Silent() from None
    if key is None:
        raise _Silent()
    if not token_matches(key, url):
        raise UrlAuthError("URLAUTH verification failed")
    # The owner must still be able to read what they signed (RFC 4467 §7).
    await account.load_access()
    if "r" not in (account.rights_on(name, url.user) or ()):
        raise UrlAuthError("Invalid URLAUTH: Permission denied")
    mailbox = await account.open_mailbox(name)
    if url.uid_validity is not None and url.uid_validity != mailbox.uid_validity:
        raise UrlAuthError("Invalid UIDVALIDITY")
    try:
        message = await mailbox.read(url.uid)
    except KeyError:
        raise UrlAuthError("Message not found") from None
    return url_data(message, section, url.partial, arg.params)


# -- what a URL names (pure) -------------------------------------------------------------
def url_data(message: bytes, section: Section | None, partial: tuple[int, int | None] | None,
             params: tuple[str, ...] | None) -> bytes:
    """The encoded URLFETCH data of ``message``: a literal for the plain form
    (``params`` None), else the RFC 5524 list of the items asked for.
    UrlAuthError when an asked-for part does not exist or cannot be decoded."""
    if params is None:
        return wire.literal(section_bytes(message, section, partial, binary=False)[0])
    items = []
    if "BODYPARTSTRUCTURE" in params:
        structure = part_structure(message, section, binary="BINARY" in params)
        if structure is None:
            raise UrlAuthError("Message part not found")
        items.append(b"BODYPARTSTRUCTURE " + encode_value(structure))
    for name in ("BODY", "BINARY"):
        if name in params:
            data, literal8 = section_bytes(message, section, partial, binary=name == "BINARY")
            items.append(name.encode() + b" " + (wire.literal8(data) if literal8 else wire.literal(data)))
    return b"(" + b" ".join(items) + b")"


def section_bytes(message: bytes, section: Section | None, partial: tuple[int, int | None] | None,
                  binary: bool) -> tuple[bytes, bool]:
    """(data, whether it must go as a literal8). BINARY undoes the
    Content-Transfer-Encoding of a body part or of a message's text (RFC 5524
    §3, as ``BINARY[]`` of RFC 3516); header sections are sent as stored. A
    part that does not exist is empty, as in FETCH. ``;PARTIAL=`` applies to
    what would otherwise be sent, decoded data included (RFC 5550 §3)."""
    literal8 = False
    parts = () if section is None else section.parts
    text = None if section is None else section.text
    decoded = None
    if binary and text in (None, "TEXT"):
        try:
            decoded = binary_section(message, parts) if text is None else _binary_text(message, parts)
        except UnknownTransferEncoding:
            raise UrlAuthError("Unknown Content-Transfer-Encoding") from None
    if decoded is not None:
        data, literal8 = decoded.data, decoded.binary
    elif binary and text is None:
        data = b""
    elif section is None or (not parts and text is None):
        data = message
    else:
        data = fetch_section(message, parts, text, section.fields) or b""
    if partial is not None:
        offset, length = partial
        data = data[offset:] if length is None else data[offset:offset + length]
    return data, literal8


def _binary_text(message: bytes, parts: tuple[int, ...]):
    """BINARY of ``parts.TEXT``: the body of a single-part message decoded,
    which is that message's part 1; a multipart's text goes as stored."""
    entity = find_part(parse_message(message), parts)
    if parts and entity is not None:
        entity = entity.message
    if entity is None or entity.is_multipart:
        return None
    return binary_section(message, parts + (1,))


def part_structure(message: bytes, section: Section | None, binary: bool) -> list[object] | None:
    """BODYPARTSTRUCTURE (RFC 5524 §3): the BODYSTRUCTURE of the part the URL
    names (for ``n.TEXT`` and ``n.HEADER`` of a message/rfc822 part, of the
    embedded message's body, as Dovecot). With BINARY, sizes and line counts
    are those of the decoded data the client gets, encodings stay as stored."""
    parts = () if section is None else section.parts
    entity = find_part(parse_message(message), parts)
    if entity is None:
        return None
    embedded = bool(parts) and section.text not in (None, "MIME") and entity.message is not None
    if embedded:
        entity = entity.message
    value = body_value(message, entity, True)
    if not binary:
        return value
    try:
        converted = binary_section(message, parts)
    except UnknownTransferEncoding:
        raise UrlAuthError("Unknown Content-Transfer-Encoding") from None
    data = converted.data
    if parts and not embedded:
        data = message[entity.start:entity.body_start] + data
    return _decoded_sizes(value, body_value(data, parse_message(data), True))


def _decoded_sizes(stored: list[object], decoded: list[object]) -> list[object]:
    """``stored`` with the size and line counts of ``decoded`` (same tree)."""
    if stored and isinstance(stored[0], Run):
        children = Run(_decoded_sizes(s, d) for s, d in zip(stored[0], decoded[0]))
        return [children, *stored[1:]]
    out = list(stored)
    out[6] = decoded[6]
    if stored[:2] == ["MESSAGE", "RFC822"] and len(out) > 9 and isinstance(out[8], list):
        out[8] = _decoded_sizes(stored[8], decoded[8])
        out[9] = decoded[9]
    elif stored[0] == "TEXT":
        out[7] = decoded[7]
    return out
