"""APPEND CATENATE (RFC 4469 §3, §4): building a message from literal text and IMAP URLs.

A URL names a message or message part on this server, relative (RFC 4469
§3: the base is ``imap://user@server/`` or, while a mailbox is selected,
``imap://user@server/mailbox``) or absolute for this server and this user
(an extension RFC 4469 §3 leaves to servers). Its mailbox goes through the
rights check like any other command (``r`` is needed: RFC 4314 §4), so a
user can only catenate what they may read; a URL that cannot be read for any
reason is ``NO [BADURL url]`` naming the first such URL (§4.1), and a result
past the APPEND size limit is ``NO [TOOBIG]`` (§4.2). Bytes are copied as
stored, as ``BODY.PEEK[section]<partial>`` would return them; nothing is
marked \\Seen.
"""

from __future__ import annotations

from ..errors import IMAPError, TooBig
from ..imap.commands import CatPart
from ..imap.fetchatt import read_fetch_att
from ..imap.imapurl import BadUrl, ImapUrl, parse_imap_url
from ..imap.reader import ParseError, Reader, normalize_mailbox
from ..mime.analysis import normalize_line_endings
from ..mime.sections import fetch_section
from ..server import access

_LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "[::1]"})


class BadUrlError(IMAPError):
    """Bad URL"""

    def __init__(self, url: bytes, text: str) -> None:
        # url-resp-text is TEXT-CHAR without "]" (RFC 4469 §5).
        shown = bytes(c for c in url if c not in b"\r\n\x00]" and c != 0xFF)
        super().__init__(text, b"BADURL " + shown)


async def assemble(session, parts: tuple[CatPart, ...], limit: int) -> bytes:
    """The catenated message, to be stored as it is: URL data is copied as
    stored, and text sent in a plain literal gets CRLF line ends here, as a
    whole message would in the store. BadUrlError or TooBig when it cannot be built."""
    out = []
    size = 0
    for part in parts:
        if part.url is not None:
            data = await _fetch_url(session, part.url)
        else:
            data = part.text if part.binary else normalize_line_endings(part.text)
        size += len(data)
        if size > limit:
            raise TooBig(f"Message too large (limit {limit} bytes).")
        out.append(data)
    return b"".join(out)


async def _fetch_url(session, raw: bytes) -> bytes:
    try:
        text = raw.decode("ascii")
        url = parse_imap_url(text, _base(session))
    except (UnicodeDecodeError, BadUrl) as exc:
        raise BadUrlError(raw, f"Invalid IMAP URL: {exc}") from None
    if url.access is not None:
        raise BadUrlError(raw, "URLAUTH URLs are not accepted in APPEND.")  # as Dovecot
    if url.search is not None or url.uid is None:
        raise BadUrlError(raw, "The URL must name a message or message part.")
    if (text.lower().startswith(("imap:", "//"))) and not _this_server(session, url):
        raise BadUrlError(raw, "The URL must name this server and this user.")
    try:
        folder = await access.folder(session, normalize_mailbox(url.mailbox), "r")
    except IMAPError:  # absent, hidden or unreadable: one answer, nothing learnt
        raise BadUrlError(raw, f"Mailbox doesn't exist or can't be read: {url.mailbox}") from None
    mailbox = await folder.account.open_mailbox(folder.name)
    if url.uid_validity is not None and url.uid_validity != mailbox.uid_validity:
        raise BadUrlError(raw, "Invalid UIDVALIDITY.")
    try:
        message = await mailbox.read(url.uid)
    except KeyError:
        raise BadUrlError(raw, "Message not found.") from None
    data = message if url.section is None else _section(raw, message, url.section)
    if url.partial is not None:
        offset, length = url.partial
        data = data[offset:] if length is None else data[offset:offset + length]
    return data


def _section(raw: bytes, message: bytes, spec: str) -> bytes:
    """``BODY[spec]`` of the message; a part that does not exist is empty, as in FETCH."""
    try:
        reader = Reader(b"BODY[" + spec.encode("utf-8") + b"]")
        section = read_fetch_att(reader).section
        reader.end()
    except ParseError:
        raise BadUrlError(raw, f"Invalid section {spec[:40]}") from None
    if not section.parts and section.text is None:
        return message
    return fetch_section(message, section.parts, section.text, section.fields) or b""


def _base(session) -> ImapUrl:
    view = session.selected
    mailbox = None
    if view is not None:
        mailbox = access.shown_name(session, view.mailbox.account, view.mailbox.name)
    return ImapUrl(host=session.context.config.server.hostname.lower(), user=session.user, mailbox=mailbox)


def _this_server(session, url: ImapUrl) -> bool:
    if url.user != session.user:
        return False
    hosts = set(_LOCAL_HOSTS) | {session.context.config.server.hostname.lower()}
    local = _local_address(session)
    if local is not None:
        hosts.add(local[0].lower())
        if url.port is not None and url.port != local[1]:
            return False
    return url.host in hosts


def _local_address(session) -> tuple[str, int] | None:
    try:
        address = session.protocol.transport.getHost()
        return str(address.host), int(address.port)
    except AttributeError:
        return None
