"""FETCH attributes (RFC 3501 §6.4.5, §9 ``fetch-att``, ``section``).

Owns the value types for what a client may ask of a message and the names
they carry in the response. Macros (ALL, FAST, FULL) are expanded by the
parser. Also owns the ANNOTATE-EXPERIMENT-1 names (RFC 5257 §3.2, §4.3,
§5): the ``ANNOTATION`` fetch-att and the entry-name checks that STORE and
APPEND reuse, and BINARY, BINARY.PEEK and BINARY.SIZE with their
``section-binary`` (RFC 3516 §4.2, §6), SAVEDATE (RFC 8514 §4.2) and PREVIEW
with its modifiers (RFC 8970 §3, §6). No sockets, no reactor, no disk.
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
class AnnotationRequest:
    """``ANNOTATION (entries attribs)`` (RFC 5257 §4.3).

    ``entries`` are the entry specifiers in the order sent without repeats,
    case kept (entry names are case-sensitive, §3.2); they may hold the
    wildcards ``*`` and ``%``. ``attribs`` are lower-cased, each of
    value.priv, value.shared, size.priv, size.shared: a bare ``value`` or
    ``size`` is both of its suffixed forms (§3.2.2), in order, without repeats.
    """

    entries: tuple[str, ...]
    attribs: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class FetchAtt:
    """One fetch attribute.

    ``name`` is one of ENVELOPE, FLAGS, INTERNALDATE, RFC822, RFC822.HEADER,
    RFC822.SIZE, RFC822.TEXT, BODY, BODYSTRUCTURE, UID, MODSEQ (RFC 7162),
    ANNOTATION (RFC 5257, with ``annotation``), BINARY and BINARY.SIZE
    (RFC 3516, ``section`` with part numbers only; BINARY.PEEK is BINARY
    with ``peek``), SAVEDATE (RFC 8514), PREVIEW (RFC 8970; ``lazy`` for the
    LAZY modifier). ``BODY`` with
    ``section`` None is the non-extensible body structure; ``BODY`` with a
    section is ``BODY[...]`` (``peek`` for BODY.PEEK). ``partial`` is
    ``(origin, count)`` from ``<origin.count>``.
    """

    name: str
    section: Section | None = None
    peek: bool = False
    partial: tuple[int, int] | None = None
    annotation: AnnotationRequest | None = None
    lazy: bool = False


# -- parsing (RFC 3501 §6.4.5, §9 fetch-att, section) -------------------------
_SIMPLE = frozenset({
    "ENVELOPE", "FLAGS", "INTERNALDATE", "RFC822", "RFC822.HEADER", "RFC822.SIZE",
    "RFC822.TEXT", "BODY", "BODYSTRUCTURE", "UID",
    "MODSEQ",  # RFC 7162 §3.1.5
    "SAVEDATE",  # RFC 8514 §4.2
})
_PREVIEW_MODIFIERS = frozenset({"LAZY"})  # RFC 8970 §6 preview-mod
_PREVIEW_LIST = re.compile(rb" \(([A-Za-z0-9-]+)")
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
_BINARY = frozenset({"BINARY", "BINARY.PEEK", "BINARY.SIZE"})  # RFC 3516 §4.2


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
        return FetchAtt("BODY", section, peek=name == "BODY.PEEK", partial=_read_partial(reader))
    if name in _BINARY:
        section = _read_section_binary(reader)
        if name == "BINARY.SIZE":
            return FetchAtt(name, section)
        return FetchAtt("BINARY", section, peek=name == "BINARY.PEEK", partial=_read_partial(reader))
    if name == "ANNOTATION":
        reader.sp()
        return FetchAtt(name, annotation=_read_annotation_request(reader))
    if name == "PREVIEW":
        return FetchAtt(name, lazy="LAZY" in _read_preview_modifiers(reader))
    if name not in _SIMPLE:
        raise reader.error(f"Unknown fetch attribute {name[:40]}")
    return FetchAtt(name)


def _read_preview_modifiers(reader: Reader) -> set[str]:
    """``[SP "(" preview-mod *(SP preview-mod) ")"]`` (RFC 8970 §6). A list
    that does not start with a modifier is left alone: after a lone
    ``PREVIEW`` it is the FETCH modifiers, ``(CHANGEDSINCE n)`` (RFC 7162)."""
    first = _PREVIEW_LIST.match(reader.data, reader.pos)
    if first is None or first.group(1).upper().decode("ascii") not in _PREVIEW_MODIFIERS:
        return set()
    reader.pos += 1
    modifiers = set()
    for raw in reader.paren_list(Reader.atom, allow_empty=False):
        modifier = raw.upper().decode("ascii", "replace")
        if modifier not in _PREVIEW_MODIFIERS:
            raise reader.error(f"Unknown PREVIEW modifier {modifier[:40]}")
        modifiers.add(modifier)
    return modifiers


def _read_partial(reader: Reader) -> tuple[int, int] | None:
    """``["<" number "." nz-number ">"]``."""
    if reader.peek() != b"<":
        return None
    reader.pos += 1
    origin = reader.number()
    reader.expect(b".")
    count = reader.nz_number()
    reader.expect(b">")
    return origin, count


def _read_section_binary(reader: Reader) -> Section:
    """``section-binary = "[" [section-part] "]"`` (RFC 3516 §6): part
    numbers only; HEADER, TEXT and MIME have no encoding to undo."""
    reader.expect(b"[")
    parts: tuple[int, ...] = ()
    m = reader.match(_PARTS)
    if m is not None:
        parts = tuple(_part_number(reader, p) for p in m.group().split(b"."))
    reader.expect(b"]")
    return Section(parts)


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


# -- ANNOTATE-EXPERIMENT-1 (RFC 5257 §3.2, §4.3, §5) --------------------------
# entry is an astring and entry-match a list-mailbox: both are read with the
# wider pattern so that a wildcard where none may stand gets its own message.
_ENTRY_ATOM = re.compile(b"[" + re.escape(ASTRING_CHARS + b"%*") + b"]+")
# §3.2 forbids only NUL and non-ASCII; control characters are refused too,
# since no client has a use for them and an encoder would have to send them
# as literals.
_ENTRY_TEXT = re.compile(rb"[\x20-\x7e]*")
_SECTION_PART = re.compile(r"[1-9][0-9]*(?:\.[1-9][0-9]*)*")
_FETCH_ATTRIBS = {
    "value": ("value.priv", "value.shared"),
    "size": ("size.priv", "size.shared"),
    **{name: (name,) for name in ("value.priv", "value.shared", "size.priv", "size.shared")},
}


def read_annotation_entry(reader: Reader, wildcards: bool = False) -> str:
    """An annotation entry name (RFC 5257 §3.2), case kept; with ``wildcards``
    an ``entry-match`` of FETCH, where ``*`` and ``%`` may stand (§4.3)."""
    reader.need()
    if reader.peek() in (b'"', b"{"):
        raw = reader.string()
    else:
        raw = reader.read(_ENTRY_ATOM, "entry name").group()
    if not _ENTRY_TEXT.fullmatch(raw):
        raise reader.error("Entry name may contain only printable ASCII characters")
    entry = raw.decode("ascii")
    if not wildcards:
        for wildcard in "*%":
            if wildcard in entry:
                raise reader.error(f"Entry name can't contain '{wildcard}'")
    if not entry.startswith("/"):
        raise reader.error("Entry name must begin with '/'")
    if "//" in entry:
        raise reader.error("Entry name can't contain consecutive '/'")
    # "/" itself names only the top of the hierarchy and has no attributes.
    if entry.endswith("/"):
        raise reader.error("Entry name can't end with '/'")
    part = entry[1:].split("/", 1)[0]
    # §3.2.1: a leading digit makes the first level a section-part; a wildcard
    # there may still match valid ones, so only a plain one is checked.
    if part[:1].isdigit() and not (wildcards and ("*" in part or "%" in part)):
        if not _SECTION_PART.fullmatch(part):
            raise reader.error("Invalid section-part in entry name")
    return entry


def _read_fetch_attrib(reader: Reader) -> tuple[str, ...]:
    raw = reader.astring()
    expanded = _FETCH_ATTRIBS.get(raw.decode("latin-1").lower())
    if expanded is None:
        raise reader.error(f"Unknown annotation attribute {raw[:40].decode('latin-1')}")
    return expanded


def _read_annotation_request(reader: Reader) -> AnnotationRequest:
    """``"(" entries SP attribs ")"``, each one item or a parenthesized list."""
    def entry_match(r: Reader) -> str:
        return read_annotation_entry(r, wildcards=True)

    reader.expect(b"(")
    reader.need()
    if reader.peek() == b"(":
        entries = reader.paren_list(entry_match, allow_empty=False)
    else:
        entries = [entry_match(reader)]
    reader.sp()
    reader.need()
    if reader.peek() == b"(":
        groups = reader.paren_list(_read_fetch_attrib, allow_empty=False)
    else:
        groups = [_read_fetch_attrib(reader)]
    reader.expect(b")")
    attribs = (name for group in groups for name in group)
    return AnnotationRequest(tuple(dict.fromkeys(entries)), tuple(dict.fromkeys(attribs)))


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
    name = att.name.encode("ascii") + b"[" + section_spec(att.section) + b"]"
    if att.partial is not None:
        name += b"<%d>" % att.partial[0]
    return name
