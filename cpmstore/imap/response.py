"""Response encoding: Python values -> IMAP wire bytes (RFC 3501 §4, §7, §9).

This module owns how data is spelled on the wire: numbers, NIL, atoms,
quoted strings, literals and parenthesized lists, and the tagged, untagged
and continuation lines built from them. It never touches sockets, the
reactor or the disk; handlers describe responses as values and call these.

Value mapping used by ``encode_value``:

- ``int`` -> number
- ``None`` -> ``NIL``
- ``Atom`` (a ``bytes`` subclass) -> written as-is (flags, keywords,
  pre-encoded structures such as a cached ENVELOPE)
- ``Literal`` (a ``bytes`` subclass) -> always a ``{n}`` literal
- ``bytes`` / ``str`` -> quoted string when it can be, otherwise a literal
- ``list`` / ``tuple`` -> ``(a b c)``
- ``Run`` -> ``abc`` (no parentheses, no spaces); ``TightList`` -> ``(abc)``
"""

from __future__ import annotations

import re
from typing import Iterable

from .seqset import runs

CRLF = b"\r\n"


class Atom(bytes):
    """Bytes written verbatim: an atom, a flag, or an already-encoded value."""

    __slots__ = ()


class Literal(bytes):
    """Bytes always sent as a synchronizing-form literal ``{n}\\r\\n...``."""

    __slots__ = ()


class Run(tuple):
    """Values written one after another with no space between them: the
    ``1*body`` of a multipart BODYSTRUCTURE (RFC 3501 §9)."""

    __slots__ = ()


class TightList(tuple):
    """A parenthesized list with no space between members: an ENVELOPE
    address list, ``"(" 1*address ")"`` (RFC 3501 §9)."""

    __slots__ = ()


NIL = Atom(b"NIL")

# A quoted string may hold any 7-bit char except CR, LF and NUL; `"` and `\`
# are escaped. Anything else (8-bit, CR/LF, long) goes as a literal.
_UNQUOTABLE = re.compile(rb"[\x00\x0a\x0d\x80-\xff]")
_MAX_QUOTED = 1024


def quoted(data: bytes) -> bytes:
    return b'"' + data.replace(b"\\", b"\\\\").replace(b'"', b'\\"') + b'"'


def literal(data: bytes) -> bytes:
    """A literal (RFC 3501 §4.3). NUL is not CHAR8 and cannot travel in
    one, so a NUL in ``data`` goes as 0x80, as Dovecot sends it: the octet
    count stays that of the stored data, so RFC822.SIZE and BODYSTRUCTURE
    stay true, and BINARY (``literal8``) still gives the NUL back."""
    data = plain_literal_octets(data)
    return b"{%d}\r\n" % len(data) + data


def plain_literal_octets(data: bytes) -> bytes:
    """The octets a literal of ``data`` carries: ``data`` with each NUL as
    0x80 (see ``literal``), for a caller that writes the ``{n}`` itself."""
    if b"\x00" in data:
        data = data.replace(b"\x00", b"\x80")
    return data


def literal8(data: bytes) -> bytes:
    """A literal8 (RFC 3516 §4.2, RFC 4466): any octet, NUL included."""
    return b"~{%d}\r\n" % len(data) + data


def string(data: bytes | str) -> bytes:
    """A string as quoted when possible, else as a literal (RFC 3501 §4.3)."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    if len(data) <= _MAX_QUOTED and not _UNQUOTABLE.search(data):
        return quoted(data)
    return literal(data)


def nstring(data: bytes | str | None) -> bytes:
    return b"NIL" if data is None else string(data)


def encode_value(value: object) -> bytes:
    if value is None:
        return b"NIL"
    if isinstance(value, bool):
        raise TypeError("booleans have no IMAP spelling")
    if isinstance(value, int):
        return b"%d" % value
    if isinstance(value, Atom):
        return bytes(value)
    if isinstance(value, Literal):
        return literal(value)
    if isinstance(value, (bytes, str)):
        return string(value)
    if isinstance(value, Run):
        return b"".join(encode_value(v) for v in value)
    if isinstance(value, TightList):
        return b"(" + b"".join(encode_value(v) for v in value) + b")"
    if isinstance(value, (list, tuple)):
        return b"(" + b" ".join(encode_value(v) for v in value) + b")"
    raise TypeError(f"cannot encode {type(value).__name__}")


def _code(code: bytes | None) -> bytes:
    return b"[" + code + b"] " if code else b""


def tagged(tag: bytes, status: bytes, text: str | bytes, code: bytes | None = None) -> bytes:
    """``tag OK [code] text``; ``status`` is OK, NO or BAD."""
    if isinstance(text, str):
        text = text.encode("utf-8")
    return tag + b" " + status + b" " + _code(code) + _clean(text) + CRLF


def untagged(data: bytes) -> bytes:
    """``* data`` for data that is already encoded."""
    return b"* " + data + CRLF


def untagged_status(status: bytes, text: str | bytes, code: bytes | None = None) -> bytes:
    """``* OK [code] text`` (also NO, BAD, BYE, PREAUTH)."""
    if isinstance(text, str):
        text = text.encode("utf-8")
    return b"* " + status + b" " + _code(code) + _clean(text) + CRLF


def continuation(text: bytes = b"") -> bytes:
    return b"+ " + text + CRLF if text else b"+ " + CRLF


def flag_list(flags: Iterable[str]) -> bytes:
    return b"(" + b" ".join(f.encode("ascii") for f in flags) + b")"


def _clean(text: bytes) -> bytes:
    # Human-readable text must never carry a line break into the protocol.
    return text.replace(b"\r", b" ").replace(b"\n", b" ")


_ATOM_SPECIALS = frozenset(b'(){ %*"\\]') | frozenset(range(0x00, 0x20)) | {0x7F}


def astring(data: bytes | str) -> bytes:
    """An atom when every byte is an ATOM-CHAR, else a string (RFC 3501 §9)."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    if data and all(b < 0x80 and b not in _ATOM_SPECIALS for b in data) and data.upper() != b"NIL":
        return data
    return string(data)


def number_set(numbers: Iterable[int]) -> bytes:
    """Ascending-run compression for UIDPLUS codes: 1,2,3,7 -> ``1:3,7``.
    Order is kept (COPYUID pairs source and target sets by position)."""
    return range_set(runs(numbers))


def range_set(ranges: Iterable[tuple[int, int]]) -> bytes:
    """Inclusive ranges as a sequence-set: (1, 3) (7, 7) -> ``1:3,7``."""
    return b",".join(b"%d" % lo if lo == hi else b"%d:%d" % (lo, hi) for lo, hi in ranges)
