"""IMAP URLs (RFC 5092), as CATENATE (RFC 4469 §3) and URLAUTH (RFC 4467) use them.

Owns the syntax of ``imapurl`` and of the relative forms (§7: network-path
``//server/...``, absolute-path ``/mailbox...``, and the relative paths
``;UID=n...``, ``;SECTION=...``, ``;PARTIAL=...`` and ``mailbox...``
resolved against a base URL), percent-decoding (mailbox names are UTF-8,
§3.1, §9), the ``;UIDVALIDITY=``, ``;UID=``, ``;SECTION=``, ``;PARTIAL=``
pieces and the URLAUTH tail (``;EXPIRE=``, ``;URLAUTH=access``,
``:mechanism:token``, RFC 5092 §3.2, RFC 4467 §3). It checks syntax only:
whether the server, user, mailbox or message exist is the caller's
business. Every failure is ``BadUrl``. Never touches sockets, the reactor
or the disk.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from urllib.parse import unquote_to_bytes

__all__ = ["BadUrl", "ImapUrl", "parse_imap_url"]

MAX_NUMBER = 4294967295  # nz-number and number are 32-bit (RFC 3501 §9)

# RFC 5092 §11: achar = unreserved / sub-delims-sh / pct-encoded / "&" / "=";
# bchar = achar / ":" / "@" / "/". Neither allows ";" or "?".
_ACHAR = r"(?:[A-Za-z0-9\-._~!$'()*+,&=]|%[0-9A-Fa-f]{2})"
_BCHAR = r"(?:[A-Za-z0-9\-._~!$'()*+,&=:@/]|%[0-9A-Fa-f]{2})"
_SCHEME = re.compile(r"imap://", re.IGNORECASE)
# iserver = [iuserinfo "@"] host [":" port]; iuserinfo = enc-user [iauth] / [enc-user] iauth
_SERVER = re.compile(
    rf"(?:(?P<user>{_ACHAR}*)(?:;AUTH=(?P<auth>\*|{_ACHAR}+))?@)?"
    r"(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-._~%!$'()*+,&=]+)(?::(?P<port>[0-9]{1,5}))?",
    re.IGNORECASE,
)
# The message part of a path, after the mailbox reference (§11 imessagepart).
_MESSAGE_PART = re.compile(
    r"(?:/;UID=(?P<uid>[0-9]+))?"
    rf"(?:/;SECTION=(?P<section>{_BCHAR}+?))?"
    r"(?:/;PARTIAL=(?P<partial>[0-9]+(?:\.[0-9]+)?))?"
    r"(?P<urlauth>(?:;EXPIRE=[^;]+)?;URLAUTH=.*)?\Z",
    re.IGNORECASE | re.DOTALL,
)
_MAILBOX_REF = re.compile(rf"(?P<mailbox>{_BCHAR}*?)(?:;UIDVALIDITY=(?P<uidvalidity>[0-9]+))?(?=/;|;|\?|\Z)",
                          re.IGNORECASE)
_URLAUTH = re.compile(
    r"(?:;EXPIRE=(?P<expire>[^;]+))?;URLAUTH=(?P<access>[^:]+)"
    r"(?::(?P<mechanism>INTERNAL|[A-Za-z0-9\-.]+):(?P<token>[0-9A-Fa-f]{32,}))?\Z",
    re.IGNORECASE,
)
_RELATIVE_START = re.compile(r";(UID|SECTION|PARTIAL)=", re.IGNORECASE)


class BadUrl(ValueError):
    """The text is not an IMAP URL this module can read."""


@dataclass(frozen=True, slots=True)
class ImapUrl:
    """A parsed (and, if it was relative, resolved) IMAP URL.

    ``mailbox`` is the decoded name (UTF-8 text, ``INBOX`` as written);
    ``section`` the decoded section-spec as written (``1.2``, ``HEADER``);
    ``partial`` ``(offset, length)``, length None for "to the end". The
    URLAUTH fields are None unless ``;URLAUTH=`` was present; ``rump`` is then
    the URL text up to and including the access identifier (RFC 4467 §3)."""

    host: str | None = None
    port: int | None = None
    user: str | None = None
    auth: str | None = None
    mailbox: str | None = None
    uid_validity: int | None = None
    uid: int | None = None
    section: str | None = None
    partial: tuple[int, int | None] | None = None
    search: str | None = None
    expire: str | None = None
    access: str | None = None
    mechanism: str | None = None
    token: str | None = None
    rump: str | None = None

    @property
    def is_message(self) -> bool:
        """Names one message or a part of it (``imessagepart``), not a mailbox or a search."""
        return self.mailbox is not None and self.uid is not None


def parse_imap_url(text: str, base: ImapUrl | None = None) -> ImapUrl:
    """Parse ``text``; a relative URL is resolved against ``base`` (RFC 5092
    §7.1). Without ``base`` a URL with no server keeps ``host`` None."""
    if not text.isascii() or any(ord(c) < 0x21 or c in '"<>\\^`{|}' for c in text):
        raise BadUrl("IMAP URLs are printable ASCII without spaces")
    if _SCHEME.match(text):
        url = _with_server(text[len("imap://"):])
        if url.access is not None:
            # The rump is what GENURLAUTH signs: all before ":mechanism:token".
            cut = text.rfind(f":{url.mechanism}:") if url.mechanism else -1
            url = replace(url, rump=text if cut < 0 else text[:cut])
        return url
    if text.startswith("//"):
        url = _with_server(text[2:])
    elif text.startswith("/"):
        url = _path(text[1:], ImapUrl() if base is None else _server_of(base))
    else:
        url = _relative(text, base or ImapUrl())
    if url.access is not None:
        raise BadUrl("URLAUTH needs an absolute URL")  # RFC 4467 §3
    return url


def _with_server(rest: str) -> ImapUrl:
    m = _SERVER.match(rest)
    if m is None or not m.group("host"):
        raise BadUrl("Missing or invalid server")
    port = m.group("port")
    if port is not None and not 0 < int(port) < 65536:
        raise BadUrl("Invalid port")
    url = ImapUrl(
        host=_text(m.group("host")).lower(),
        port=int(port) if port else None,
        user=_text(m.group("user")) if m.group("user") else None,
        auth=_text(m.group("auth")) if m.group("auth") else None,
    )
    rest = rest[m.end():]
    if not rest:
        return url
    if not rest.startswith("/"):
        raise BadUrl("Invalid server")
    return _path(rest[1:], url) if rest != "/" else url


def _server_of(base: ImapUrl) -> ImapUrl:
    return ImapUrl(host=base.host, port=base.port, user=base.user, auth=base.auth)


def _path(path: str, server: ImapUrl, mailbox: str | None = None, uid_validity: int | None = None) -> ImapUrl:
    """``[icommand]`` after the "/" that follows the server; ``mailbox`` set
    when a relative path already fixed it."""
    if mailbox is None:
        m = _MAILBOX_REF.match(path)
        if m is None or not m.group("mailbox"):
            raise BadUrl("Missing mailbox name")
        mailbox = _text(m.group("mailbox"), utf8=True)
        uid_validity = _number(m.group("uidvalidity"), "UIDVALIDITY")
        path = path[m.end():]
    if path.startswith("?"):
        if not re.fullmatch(rf"(?:{_BCHAR}|\?)+", path[1:]):
            raise BadUrl("Invalid search")
        return replace(server, mailbox=mailbox, uid_validity=uid_validity, search=_text(path[1:], utf8=True))
    m = _MESSAGE_PART.match(path)
    if m is None:
        raise BadUrl("Invalid message part")
    uid = _number(m.group("uid"), "UID")
    if uid is None and (m.group("section") or m.group("partial") or m.group("urlauth")):
        raise BadUrl("A section, partial or URLAUTH needs a UID")
    url = replace(server, mailbox=mailbox, uid_validity=uid_validity, uid=uid,
                  section=_text(m.group("section"), utf8=True) if m.group("section") else None,
                  partial=_partial(m.group("partial")))
    if m.group("urlauth"):
        url = _urlauth(url, m.group("urlauth"))
    return url


def _relative(text: str, base: ImapUrl) -> ImapUrl:
    """A relative path (§7.1): ``;UID=`` keeps the base mailbox, ``;SECTION=``
    also its UID, ``;PARTIAL=`` also its section; a mailbox name is taken
    below the base mailbox (which acts as a directory, as in Dovecot)."""
    m = _RELATIVE_START.match(text)
    if m is None:
        prefix = base.mailbox + "/" if base.mailbox else ""
        m = _MAILBOX_REF.match(text)
        if m is None or not m.group("mailbox"):
            raise BadUrl("Missing mailbox name")
        name = prefix + _text(m.group("mailbox"), utf8=True)
        return _path(text[m.end():], _server_of(base), name, _number(m.group("uidvalidity"), "UIDVALIDITY"))
    if not base.mailbox:
        raise BadUrl("Mailbox-relative URL without a base mailbox")
    kind = m.group(1).upper()
    if kind != "UID" and base.uid is None:
        raise BadUrl("Part-relative URL without a base message")
    # Rebuild what the base contributes, then read the rest as an absolute path.
    head = "" if kind == "UID" else f"/;UID={base.uid}"
    if kind == "PARTIAL" and base.section is not None:
        head += "/;SECTION=" + _encode(base.section)
    return _path(head + "/" + text, _server_of(base), base.mailbox, base.uid_validity)


def _urlauth(url: ImapUrl, tail: str) -> ImapUrl:
    m = _URLAUTH.match(tail)
    if m is None:
        raise BadUrl("Invalid URLAUTH")
    access = m.group("access")
    if not re.fullmatch(rf"(?:submit\+|user\+){_ACHAR}+|authuser|anonymous", access, re.IGNORECASE):
        raise BadUrl("Invalid URLAUTH access identifier")
    return replace(url, expire=m.group("expire"), access=_text(access), mechanism=m.group("mechanism"),
                   token=m.group("token"))


def _number(digits: str | None, what: str, nonzero: bool = True) -> int | None:
    if digits is None:
        return None
    if len(digits) > 10 or int(digits) > MAX_NUMBER or (nonzero and int(digits) == 0):
        raise BadUrl(f"Invalid {what}")
    return int(digits)


def _partial(text: str | None) -> tuple[int, int | None] | None:
    if text is None:
        return None
    offset, _, length = text.partition(".")
    return _number(offset, "PARTIAL offset", nonzero=False), _number(length or None, "PARTIAL length")


def _text(encoded: str, utf8: bool = False) -> str:
    raw = unquote_to_bytes(encoded)
    try:
        return raw.decode("utf-8" if utf8 else "ascii")
    except UnicodeDecodeError:
        raise BadUrl("Invalid percent-encoded text") from None


def _encode(text: str) -> str:
    return "".join(c if re.fullmatch(_BCHAR, c) else "".join(f"%{b:02X}" for b in c.encode()) for c in text)
