"""What kind of CPM object a stored message is (shared/cpm-formats.md §3).

Owns the one classification of an object, done once at APPEND from its
headers and content types, the way the message-store clients dispatch
(cpm-formats.md §3.1): ``Message-Context`` first (``pager-message`` is an
SMS, ``multimedia-message`` an MMS), then the outer Content-Type, looking
inside ``message/cpim`` at the CPIM payload's own Content-Type. Everything
compares case-insensitively and tolerates quoted values; anything that
matches no CPM form is plain e-mail. It never rejects an object and never
touches sockets, the reactor or the disk.
"""

from __future__ import annotations

from ..mime.headers import Field, first_fields, first_value, header_end, split_fields
from ..mime.parse import parse_params

CHAT = "chat"
FILE_TRANSFER = "file-transfer"
IMDN = "imdn"
SESSION_INFO = "session-info"
GROUP_STATE = "group-state"
SMS = "sms"
MMS = "mms"
EMAIL = "email"
KINDS = (CHAT, FILE_TRANSFER, IMDN, SESSION_INFO, GROUP_STATE, SMS, MMS, EMAIL)
# Where a client reads the kind: a read-only, server-set message annotation
# (RFC 5257 §3.2 vendor entry), ``FETCH n (ANNOTATION (/vendor/cpm/kind value.shared))``.
KIND_ENTRY = "/vendor/cpm/kind"

_BY_CONTENT_TYPE = {
    "application/x-cpm-session": SESSION_INFO,
    "application/x-cpm-file-transfer": FILE_TRANSFER,
    "application/group-state-object+xml": GROUP_STATE,
    "message/imdn+xml": IMDN,
    "application/vnd.gsma.rcs-ft-http+xml": FILE_TRANSFER,
    "text/plain": CHAT,
}


def _unquoted(value: bytes | None) -> str:
    text = (value or b"").decode("latin-1").strip()
    if len(text) >= 2 and text[0] == text[-1] == '"':
        text = text[1:-1].strip()
    return text.lower()


def _content_type(data: bytes, start: int, stop: int) -> tuple[str, dict[str, str]]:
    """(lower-case type/subtype, lower-case parameter names -> values) of the
    header block at ``data[start:stop]``; ("", {}) when there is none."""
    return _content_type_in(data, first_fields(split_fields(data, start, stop)))


def _content_type_in(data: bytes, index: dict[bytes, Field]) -> tuple[str, dict[str, str]]:
    raw = first_value(data, index, b"content-type")
    if raw is None:
        return "", {}
    value, params = parse_params(raw)
    return value.strip().lower(), {name.lower(): v for name, v in params}


def classify(message: bytes, index: dict[bytes, Field] | None = None) -> str:
    """One of ``KINDS`` for the stored bytes of an object. ``index``: the
    top-level header's ``first_fields``, when the caller has it already."""
    end = header_end(message)
    if index is None:
        index = first_fields(split_fields(message, 0, end))
    context = _unquoted(first_value(message, index, b"message-context"))
    if context == "pager-message":
        return SMS
    if context == "multimedia-message":
        return MMS
    outer, params = _content_type_in(message, index)
    if outer == "multipart/related":
        # OMA forms (cpm-formats.md §3.3, §3.4): the root type names the object.
        root = params.get("type", "").strip().lower()
        return _BY_CONTENT_TYPE.get(root, EMAIL) if root != "text/plain" else EMAIL
    if outer == "message/cpim":
        return _cpim_kind(message, end)
    if outer in _BY_CONTENT_TYPE and outer != "text/plain":
        return _BY_CONTENT_TYPE[outer]
    return EMAIL


def _cpim_kind(message: bytes, body: int) -> str:
    """The CPIM payload (RFC 3862): CPIM headers, a blank line, then the
    payload's MIME headers, whose Content-Type decides."""
    cpim_end = header_end(message, body)
    if cpim_end >= len(message):
        return EMAIL
    inner, _params = _content_type(message, cpim_end, header_end(message, cpim_end))
    return _BY_CONTENT_TYPE.get(inner, EMAIL)
