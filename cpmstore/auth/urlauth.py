"""URLAUTH authorization: tokens, expiry and access identifiers (RFC 4467 §2, §3, §6, §7; RFC 5092 §3.2, §6).

Owns the pure rules of a URLAUTH-authorized URL, given an already parsed
``ImapUrl`` (``cpmstore.imap.imapurl``): what a URL must hold before
GENURLAUTH may sign it (a rump: absolute, naming a message, with an access
identifier and no token, RFC 4467 §7), what it must hold before URLFETCH
may look at it (a full URL, §3), whether its ``;EXPIRE=`` has passed
(RFC 5092 §3.2, an RFC 3339 date-time), whether its access identifier lets
a given user fetch it (``anonymous``, ``authuser``, ``user+<name>``,
``submit+<name>``, RFC 4467 §3 and RFC 5092 §6.1), and the INTERNAL
mechanism: the token is HMAC-SHA1 (the algorithm RFC 4467 §7 names) of the
rump keyed with the mailbox access key, in lower-case hex. Keys are random,
``KEY_BYTES`` long (RFC 4467 §7: at least 128 bits).

It never touches sockets, the reactor or the disk, and never decides whether
a mailbox or message exists: the URLAUTH handler checks those against the
store at fetch time. Every refusal is ``UrlAuthError`` with a short reason.
"""

from __future__ import annotations

import hmac
import re
import secrets
from datetime import datetime, timezone
from hashlib import sha1

from ..imap.imapurl import ImapUrl

__all__ = [
    "INTERNAL", "KEY_BYTES", "UrlAuthError", "access_allows", "authorize", "check_full", "check_rump",
    "expired", "new_key", "parse_expire", "token", "token_matches",
]

INTERNAL = "INTERNAL"
KEY_BYTES = 32  # 256 bits, twice RFC 4467's floor
# RFC 3339 §5.6 date-time; "T", "Z" and the separators may be lower case (§5.6 NOTE).
_DATE_TIME = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?(?:([Zz])|([+-])(\d{2}):(\d{2}))\Z")


class UrlAuthError(ValueError):
    """A URL that may not be signed or fetched; ``str()`` is the reason."""


def new_key() -> bytes:
    """A fresh mailbox access key."""
    return secrets.token_bytes(KEY_BYTES)


def token(key: bytes, rump: str) -> str:
    """The INTERNAL token of ``rump``: the URL exactly as sent up to and
    including the access identifier (RFC 4467 §3), so any change to it,
    even of case, gives another token."""
    return hmac.new(key, rump.encode("ascii"), sha1).hexdigest()


def authorize(rump: str, key: bytes) -> str:
    """The URLAUTH-authorized URL for ``rump`` (RFC 4467 §7, GENURLAUTH);
    the mechanism is spelt as in the RFC's examples."""
    return f"{rump}:internal:{token(key, rump)}"


def token_matches(key: bytes, url: ImapUrl) -> bool:
    """Whether ``url``'s mechanism is INTERNAL and its token is the one ``key`` gives."""
    if url.mechanism is None or url.mechanism.upper() != INTERNAL or url.token is None or url.rump is None:
        return False
    return hmac.compare_digest(token(key, url.rump), url.token.lower())


def parse_expire(text: str) -> datetime:
    """An ``;EXPIRE=`` value as an aware datetime; UrlAuthError if it is not an RFC 3339 date-time."""
    m = _DATE_TIME.match(text)
    if m is None:
        raise UrlAuthError("Invalid EXPIRE date-time")
    year, month, day, hour, minute, second = (int(g) for g in m.group(1, 2, 3, 4, 5, 6))
    fraction = float(m.group(7)) if m.group(7) else 0.0
    try:
        when = datetime(year, month, day, hour, minute, min(second, 59), tzinfo=timezone.utc)
    except ValueError:
        raise UrlAuthError("Invalid EXPIRE date-time") from None
    if m.group(9):
        offset = (int(m.group(10)) * 60 + int(m.group(11))) * 60
        when = when.timestamp() - (offset if m.group(9) == "+" else -offset)
        when = datetime.fromtimestamp(when, timezone.utc)
    return datetime.fromtimestamp(when.timestamp() + fraction, timezone.utc)


def expired(url: ImapUrl, now: datetime) -> bool:
    """Whether ``url`` carries an ``;EXPIRE=`` at or before ``now`` (aware)."""
    return url.expire is not None and parse_expire(url.expire) <= now


def check_rump(url: ImapUrl, user: str, now: datetime) -> None:
    """What GENURLAUTH asks of a URL before signing it (RFC 4467 §7): an
    absolute URL of one message (or part) with an access identifier and no
    token yet, whose user is the one asking (only the owner of a mailbox
    access key may sign with it), not already expired."""
    if url.access is None or url.mechanism is not None:
        raise UrlAuthError("Invalid URL: Must be an URLAUTH rump URL")
    if not url.is_message or url.search is not None:
        raise UrlAuthError("Invalid URL: Must name a message or message part")
    if url.user != user:
        raise UrlAuthError(f"Not permitted to generate URLAUTH for user {url.user}")
    if expired(url, now):
        raise UrlAuthError("URLAUTH has already expired")


def check_full(url: ImapUrl, now: datetime) -> None:
    """What URLFETCH asks of a URL before looking it up (RFC 4467 §3, §7)."""
    if url.access is None or url.token is None or url.user is None or not url.is_message:
        raise UrlAuthError("Invalid URL: Must be a full URLAUTH URL")
    if url.mechanism.upper() != INTERNAL:
        raise UrlAuthError(f"Unsupported URLAUTH mechanism: {url.mechanism}")
    if expired(url, now):
        raise UrlAuthError("URLAUTH has expired")


def access_allows(access: str, user: str | None, submitters: frozenset[str] = frozenset()) -> bool:
    """Whether the session of ``user`` (None: not authenticated) may fetch a
    URL with access identifier ``access`` (RFC 4467 §3): ``anonymous``
    anyone, ``authuser`` any authenticated user, ``user+<name>`` only that
    user, ``submit+<name>`` only a message submission entity acting for
    ``name`` (``submitters`` are the users that act as one)."""
    kind, plus, name = access.partition("+")
    kind = kind.lower()
    if not plus:
        return kind == "anonymous" or (kind == "authuser" and user is not None)
    if kind == "user":
        return user is not None and user == name
    if kind == "submit":
        return user is not None and user in submitters
    return False
