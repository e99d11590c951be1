"""FETCH attributes (RFC 3501 §6.4.5, §9 ``fetch-att``, ``section``).

Owns the value types for what a client may ask of a message and the names
they carry in the response. Macros (ALL, FAST, FULL) are expanded by the
parser. No sockets, no reactor, no disk.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .reader import ASTRING_CHARS, Reader
from .response import string as _encode_string


@dataclass(frozen=True, slots=True)
class Section:
    """``BODY[<parts>.<text>]``: ``parts`` like (1, 2); ``text`` one of None,
    "HEADER", "HEADER.FIELDS", "HEADER.FIELDS.NOT", "TEXT", "MIME";
    ``fields`` the upper-cased header names for HEADER.FIELDS[.NOT]."""

    parts: tuple[int, ...] = ()
    text: str | None = None
    fields: tuple[bytes, ...] = ()


@dataclass(frozen=True, slots=True)
class FetchAtt:
    """One fetch attribute.

    ``name`` is one of ENVELOPE, FLAGS, INTERNALDATE, RFC822, RFC822.HEADER,
    RFC822.SIZE, RFC822.TEXT, BODY, BODYSTRUCTURE, UID, MODSEQ (RFC 7162). ``BODY`` with
    ``section`` None is the non-extensible body structure; ``BODY`` with a
    section is ``BODY[...]`` (``peek`` for BODY.PEEK). ``partial`` is
    ``(origin, count)`` from ``<origin.count>``.
    """

    name: str
    section: Section | None = None
    peek: bool = False
    partial: tuple[int, int] | None = None


# -- parsing (RFC 3501 §6.4.5, §9 fetch-att, section) -------------------------
_SIMPLE = frozenset({
    "ENVELOPE", "FLAGS", "INTERNALDATE", "RFC822", "RFC822.HEADER", "RFC822.SIZE",
    "RFC822.TEXT", "BODY", "BODYSTRUCTURE", "UID",
    "MODSEQ",  # RFC 7162 §3.1.5
})
_MACROS = {
    "ALL": ("FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE"),
    "FAST": ("FLAGS", "INTERNALDATE", "RFC822.SIZE"),
    "FULL": ("FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE", "BODY"),
}
# "[" is an ATOM-CHAR, so an atom would run into the section: names are
# matched with their own narrower pattern.
_NAME = re.compile(rb"[A-Za-z0-9.]+")
_PARTS = re.compile(rb"[0-9]+(?:\.[0-9]+)*")
_SECTION_TEXT = re.compile(rb"[A-Za-z.]+")
_MSGTEXT = frozenset({"HEADER", "HEADER.FIELDS", "HEADER.FIELDS.NOT", "TEXT"})


def read_fetch_atts(reader: Reader) -> tuple[FetchAtt, ...]:
    """A macro, one fetch-att, or a parenthesized non-empty list of them."""
    reader.need()
    if reader.peek() == b"(":
        return tuple(reader.paren_list(read_fetch_att, allow_empty=False))
    m = _NAME.match(reader.data, reader.pos)
    macro = _MACROS.get(m.group().upper().decode("ascii")) if m else None
    if macro is not None and reader.data[m.end():m.end() + 1] in (b"", b" "):
        reader.pos = m.end()
        return tuple(FetchAtt(name) for name in macro)
    return (read_fetch_att(reader),)


def read_fetch_att(reader: Reader) -> FetchAtt:
    name = reader.read(_NAME, "fetch attribute").group().upper().decode("ascii")
    if name in ("BODY", "BODY.PEEK") and reader.peek() == b"[":
        section = _read_section(reader)
        partial = None
        if reader.peek() == b"<":
            reader.pos += 1
            origin = reader.number()
            reader.expect(b".")
            count = reader.nz_number()
            reader.expect(b">")
            partial = (origin, count)
        return FetchAtt("BODY", section, peek=name == "BODY.PEEK", partial=partial)
    if name not in _SIMPLE:
        raise reader.error(f"Unknown fetch attribute {name[:40]}")
    return FetchAtt(name)


def _read_section(reader: Reader) -> Section:
    reader.expect(b"[")
    parts: tuple[int, ...] = ()
    m = reader.match(_PARTS)
    if m is not None:
        parts = tuple(_part_number(reader, p) for p in m.group().split(b"."))
        if reader.peek() == b".":
            reader.pos += 1
        else:
            reader.expect(b"]")
            return Section(parts)
    elif reader.peek() == b"]":
        reader.pos += 1
        return Section()
    text = reader.read(_SECTION_TEXT, "section").group().upper().decode("ascii")
    if not (text in _MSGTEXT or text == "MIME" and parts):
        raise reader.error(f"Invalid section {text[:40]}")
    fields: tuple[bytes, ...] = ()
    if text.startswith("HEADER.FIELDS"):
        reader.sp()
        fields = tuple(f.upper() for f in reader.paren_list(Reader.astring, allow_empty=False))
    reader.expect(b"]")
    return Section(parts, text, fields)


def _part_number(reader: Reader, digits: bytes) -> int:
    if digits.startswith(b"0") or len(digits) > 10 or int(digits) > 4294967295:
        raise reader.error("Invalid section part number")
    return int(digits)


def parse_fetch_atts(data: bytes) -> tuple[FetchAtt, ...]:
    """``b"(FLAGS BODY.PEEK[HEADER])"`` -> fetch attributes; raises ParseError."""
    reader = Reader(data)
    atts = read_fetch_atts(reader)
    reader.end()
    return atts


def _field_name(name: bytes) -> bytes:
    if name and all(c in ASTRING_CHARS for c in name):
        return name
    return _encode_string(name)


def section_spec(section: Section) -> bytes:
    """The text between the brackets, as a FETCH response spells it."""
    spec = b".".join(b"%d" % p for p in section.parts)
    if section.text:
        spec += (b"." if spec else b"") + section.text.encode("ascii")
    if section.fields:
        spec += b" (" + b" ".join(_field_name(f) for f in section.fields) + b")"
    return spec


def response_name(att: FetchAtt) -> bytes:
    """The item name in the FETCH response: BODY.PEEK answers as BODY and a
    partial as ``<origin>`` only (RFC 3501 §7.4.2)."""
    if att.section is None:
        return att.name.encode("ascii")
    name = b"BODY[" + section_spec(att.section) + b"]"
    if att.partial is not None:
        name += b"<%d>" % att.partial[0]
    return name
