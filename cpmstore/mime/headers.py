"""Header blocks: finding them, splitting them into fields, reading values.

Owns the byte-level view of an RFC 5322 header block (RFC 5322 §2.2, §3.6):
where the block ends, the offsets of each field (so that FETCH
``HEADER.FIELDS`` returns the original lines, folding included), unfolding,
and RFC 2047 decoding of encoded words for SEARCH. Offsets are absolute in
the message, so nothing here copies a body. It never touches sockets, the
reactor or the disk, and never rewrites a message.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import re
from typing import NamedTuple


class Field(NamedTuple):
    """One header field: ``name`` as written (no colon, trailing blanks
    stripped); ``start``..``end`` the whole field with its continuation lines
    and final line break; ``value_start`` the byte after the colon. A named
    tuple: a message's fields are made at every APPEND, and a tuple is built
    several times faster than a frozen dataclass."""

    name: bytes
    start: int
    value_start: int
    end: int


def header_end(data: bytes, start: int = 0, end: int | None = None) -> int:
    """Offset just past the blank line that ends the header block starting at
    ``start``; ``end`` when the block has no blank line (all header).

    Bare LF is accepted as well as CRLF so that a message stored before
    normalization (or a fuzzed one) still splits sensibly."""
    if end is None:
        end = len(data)
    if data.startswith(b"\r\n", start, end):
        return start + 2
    if data.startswith(b"\n", start, end):
        return start + 1
    crlf = data.find(b"\n\r\n", start, end)
    # Only look for "\n\n" before the first "\n\r\n": a binary body must not be
    # scanned in full when the header ended long before it.
    lf = data.find(b"\n\n", start, end if crlf < 0 else crlf + 2)
    if lf >= 0 and (crlf < 0 or lf < crlf):
        return lf + 2
    if crlf >= 0:
        return crlf + 3
    return end


# A header with more fields than this is hostile or broken; the rest of its
# block becomes one nameless field, so its bytes still belong to the header
# (BODY[HEADER] and HEADER.FIELDS.NOT are unchanged) but cost nothing to index.
MAX_FIELDS = 5000

def split_fields(data: bytes, start: int, stop: int) -> tuple[Field, ...]:
    """The fields of the header block ``data[start:stop]`` (``stop`` as given
    by ``header_end``), in order. A line without a colon is kept as a field
    whose name is the whole line, so that nothing is silently dropped. A
    field ends at the line break that is not followed by a blank (folding)."""
    fields: list[Field] = []
    find = data.find
    pos = start
    while pos < stop:
        if len(fields) >= MAX_FIELDS:
            fields.append(Field(b"", pos, stop, stop))
            break
        nl = find(b"\n", pos, stop)
        line_end = end = stop if nl < 0 else nl + 1
        while end < stop and data[end] in _BLANKS:  # continuation lines
            nl = find(b"\n", end, stop)
            end = stop if nl < 0 else nl + 1
        if end - pos <= 2 and data[pos:end] in (b"\r\n", b"\n"):
            pos = end  # the blank line that closes the block
            continue
        colon = find(b":", pos, line_end)
        if colon < 0:
            fields.append(Field(data[pos:line_end].rstrip(b"\r\n \t"), pos, line_end, end))
        else:
            fields.append(Field(data[pos:colon].rstrip(b" \t"), pos, colon + 1, end))
        pos = end
    return tuple(fields)


_BLANKS = (0x20, 0x09)


def first_fields(fields: tuple[Field, ...]) -> dict[bytes, Field]:
    """Lower-case name -> first field of that name: built once per entity so
    that ENVELOPE and BODYSTRUCTURE look fields up without rescanning."""
    index: dict[bytes, Field] = {}
    for field in fields:
        index.setdefault(field.name.lower(), field)
    return index


def raw_value(data: bytes, field: Field) -> bytes:
    """The field's value unfolded (line breaks removed, RFC 5322 §2.2.3),
    surrounding blanks stripped, encoded words left as they are."""
    value = data[field.value_start:field.end]
    if b"\n" in value:
        value = value.replace(b"\r\n", b"").replace(b"\n", b"")
    return value.strip(b" \t\r")


def first_value(data: bytes, index: dict[bytes, Field], name: bytes) -> bytes | None:
    """Raw value of the first field called ``name`` (lower-case), or None."""
    field = index.get(name)
    return None if field is None else raw_value(data, field)


def header_values(header_block: bytes, name: str) -> list[str]:
    """All values of header ``name`` (any case), unfolded and RFC 2047
    decoded, for SEARCH HEADER/FROM/TO/SUBJECT."""
    wanted = name.encode("utf-8", "replace").lower()
    stop = header_end(header_block)
    return [
        decode_words(raw_value(header_block, field))
        for field in split_fields(header_block, 0, stop)
        if field.name.lower() == wanted
    ]


_ENCODED_WORD = re.compile(rb"=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=")
_BLANKS_ONLY = re.compile(rb"[ \t]*")
_QP_HEX = re.compile(rb"=([0-9A-Fa-f]{2})")


def decode_words(value: bytes) -> str:
    """RFC 2047 §6: decode encoded words; blanks between two adjacent encoded
    words vanish. Raw 8-bit text is taken as UTF-8 (what CPM clients send);
    undecodable bytes become U+FFFD, never an exception."""
    out: list[str] = []
    pos = 0
    previous_was_word = False
    for match in _ENCODED_WORD.finditer(value):
        between = value[pos:match.start()]
        if not (previous_was_word and _BLANKS_ONLY.fullmatch(between)):
            out.append(between.decode("utf-8", "replace"))
        out.append(_decode_word(match.group(1), match.group(2), match.group(3)))
        pos = match.end()
        previous_was_word = True
    out.append(value[pos:].decode("utf-8", "replace"))
    return "".join(out)


def _decode_word(charset: bytes, encoding: bytes, text: bytes) -> str:
    if encoding in (b"B", b"b"):
        payload = decode_base64(text)
    else:
        payload = _QP_HEX.sub(lambda m: bytes((int(m.group(1), 16),)), text.replace(b"_", b" "))
    # RFC 2231 §5 allows "charset*language" in an encoded word.
    return decode_charset(payload, charset.split(b"*", 1)[0].decode("ascii", "replace"))


def decode_base64(data: bytes) -> bytes:
    """Lenient base64: characters outside the alphabet are skipped, the
    first ``=`` ends the data (RFC 2045 §6.8), a short final group is padded
    rather than raising."""
    cleaned = re.sub(rb"[^A-Za-z0-9+/=]", b"", data).split(b"=", 1)[0]
    if len(cleaned) % 4 == 1:
        cleaned = cleaned[:-1]  # a lone sextet carries no whole octet
    cleaned += b"=" * (-len(cleaned) % 4)
    try:
        return base64.b64decode(cleaned)
    except binascii.Error:
        return b""


def decode_charset(payload: bytes, charset: str | None) -> str:
    """Bytes in ``charset`` as text; US-ASCII and unknown charsets are read
    as UTF-8 (a superset that keeps what 8-bit senders meant)."""
    name = (charset or "").strip().strip('"').lower()
    if name in ("", "us-ascii", "ascii", "7bit"):
        name = "utf-8"
    try:
        codecs.lookup(name)
    except LookupError:
        name = "utf-8"
    try:
        return payload.decode(name, "replace")
    except Exception:  # codecs with no "replace" support, e.g. some CJK ones
        return payload.decode("utf-8", "replace")
