"""The MIME part tree of a message, as byte offsets.

Owns splitting a message into entities (RFC 2045 §5-6, RFC 2046 §5.1.1
boundaries, §5.1.5 digest defaults, §5.2.1 message/rfc822) and reading the
Content-* parameters (RFC 2045 §5.1, RFC 2231 continuations). Every entity
records offsets into the original bytes, so sections, sizes and line counts
are computed without rewriting or copying bodies; boundaries are found with
``bytes.find``, so the cost is linear in the message size times the nesting
depth (bounded by ``MAX_DEPTH``). Malformed input always yields a tree: the
RFC 2045 default (text/plain; charset=us-ascii) stands in for what cannot be
read. Never touches sockets, the reactor or the disk.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from cpmstore.mime.headers import Field, first_fields, first_value, header_end, split_fields

# Deeper nesting than this is treated as an opaque text/plain leaf: real
# messages never come close, and it bounds recursion on hostile input.
MAX_DEPTH = 64

Params = tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class Entity:
    """One MIME entity (a message or a body part).

    ``start``..``body_start`` is its header block (with the blank line),
    ``body_start``..``end`` its body. ``type``/``subtype`` are lower-case;
    ``params`` keep names and values as sent (names unique, RFC 2231
    continuations merged), octet for octet: they are ``str`` decoded as
    latin-1, so ``.encode("latin-1")`` gives back the original bytes. ``children`` are the parts of a multipart;
    ``message`` the embedded message of a message/rfc822 entity; ``index``
    the first field of each (lower-case) name."""

    start: int
    body_start: int
    end: int
    fields: tuple[Field, ...]
    index: dict[bytes, Field]
    type: str
    subtype: str
    params: Params
    children: tuple[Entity, ...] = ()
    message: Entity | None = None

    def value(self, data: bytes, name: bytes) -> bytes | None:
        """Raw unfolded value of the first field ``name`` (lower-case)."""
        return first_value(data, self.index, name)

    @property
    def is_multipart(self) -> bool:
        return self.type == "multipart"

    def param(self, name: str) -> str | None:
        return _param(self.params, name.lower())


def parse_message(data: bytes) -> Entity:
    """The entity tree of a whole message."""
    return parse_entity(data, 0, len(data), ("text", "plain"), 0)


def parse_entity(data: bytes, start: int, end: int, default: tuple[str, str], depth: int) -> Entity:
    body_start = header_end(data, start, end)
    fields = split_fields(data, start, body_start)
    index = first_fields(fields)
    ctype, params = content_type(data, index, default)
    if depth >= MAX_DEPTH:
        ctype, params = ("text", "plain"), ()
    if ctype[0] == "multipart":
        boundary = _param(params, "boundary")
        if boundary:
            child_default = ("message", "rfc822") if ctype[1] == "digest" else ("text", "plain")
            children = tuple(
                parse_entity(data, part_start, part_end, child_default, depth + 1)
                for part_start, part_end in split_multipart(data, body_start, end, boundary.encode("latin-1"))
            )
            return Entity(start, body_start, end, fields, index, ctype[0], ctype[1], params, children=children)
        # RFC 2045 §5.2: a Content-Type that cannot be used means text/plain.
        ctype, params = ("text", "plain"), ()
    if ctype == ("message", "rfc822"):
        embedded = parse_entity(data, body_start, end, ("text", "plain"), depth + 1)
        return Entity(start, body_start, end, fields, index, ctype[0], ctype[1], params, message=embedded)
    return Entity(start, body_start, end, fields, index, ctype[0], ctype[1], params)


def content_type(data: bytes, index: dict[bytes, Field], default: tuple[str, str]) -> tuple[tuple[str, str], Params]:
    raw = first_value(data, index, b"content-type")
    if raw is None:
        return default, ()
    value, params = parse_params(raw)
    media_type, slash, subtype = value.partition("/")
    media_type, subtype = media_type.strip().lower(), subtype.strip().lower()
    if not slash or not _is_token(media_type) or not _is_token(subtype):
        return ("text", "plain"), ()
    return (media_type, subtype), params


def _is_token(text: str) -> bool:
    return bool(text) and all(0x20 < ord(c) < 0x7F and c not in '()<>@,;:\\"/[]?=' for c in text)


def _param(params: Params, name: str) -> str | None:
    for key, value in params:
        if key.lower() == name:
            return value
    return None


def split_multipart(data: bytes, start: int, end: int, boundary: bytes) -> list[tuple[int, int]]:
    """Offsets of the body parts between the boundary delimiters of the
    multipart body ``data[start:end]`` (RFC 2046 §5.1.1): the line break
    before a delimiter belongs to the delimiter; the preamble and epilogue
    belong to no part. Without a close delimiter the last part runs to
    ``end``. A line that only begins with the delimiter (``--cpm-inner``
    under boundary ``cpm``) is not one."""
    # One regex scan in C: lines that merely start like a delimiter cost no
    # Python step each, which keeps hostile bodies linear and fast.
    line = rb"--" + re.escape(boundary) + rb"(?:(--)[^\n]*|[ \t]*\r?)(?:\n|\Z)"
    parts: list[tuple[int, int]] = []
    part_start = -1
    first = re.compile(line).match(data, start, end)
    if first is not None:
        if first.group(1):
            return parts
        part_start = first.end()
    delimiter = re.compile(rb"\n" + line)
    pos = start
    while (match := delimiter.search(data, pos, end)) is not None:
        hit = match.start()
        if part_start >= 0:
            break_at = hit - 1 if hit > start and data[hit - 1] == 0x0D else hit
            parts.append((part_start, max(break_at, part_start)))
        if match.group(1):
            return parts
        part_start = match.end()
        # The next delimiter's leading line break may be this line's own.
        pos = max(match.end() - 1, hit + 1)
    if part_start >= 0:
        parts.append((part_start, end))
    return parts


def parse_params(raw: bytes) -> tuple[str, Params]:
    """``value; name=value; ...`` (RFC 2045 §5.1) -> (value, params).

    Quoted values are unquoted; comments are dropped; RFC 2231 continuations
    ``name*0``, ``name*1*`` are merged, and a name whose first piece is
    extended keeps its trailing ``*`` with the ``charset'lang'%XX`` value
    (what the client must decode, as RFC 3501 passes it on)."""
    # latin-1 maps every octet to one char and back: 8-bit values survive.
    text = _strip_comments(raw.decode("latin-1"))
    items = _split_semicolons(text)
    value = items[0].strip() if items else ""
    merged: dict[str, list[tuple[int, bool, str]]] = {}
    order: list[str] = []
    for item in items[1:]:
        name, eq, param_value = item.partition("=")
        name = name.strip()
        if not eq or not name:
            continue
        param_value = _unquote(param_value.strip())
        base, index, extended = _continuation(name)
        key = base.lower()
        if key not in merged:
            merged[key] = []
            order.append(base)
        merged[key].append((index, extended, param_value))
    params: list[tuple[str, str]] = []
    for base in order:
        pieces = sorted(merged[base.lower()], key=lambda piece: piece[0])
        name = base + "*" if pieces[0][1] else base
        params.append((name, "".join(piece[2] for piece in pieces)))
    return value, tuple(params)


def _continuation(name: str) -> tuple[str, int, bool]:
    extended = name.endswith("*")
    core = name[:-1] if extended else name
    base, star, index = core.partition("*")
    if star and index.isdigit() and len(index) < 6:
        return base, int(index), extended
    if star:
        return name, 0, False
    return core, 0, extended


def _strip_comments(text: str) -> str:
    if "(" not in text:
        return text
    out: list[str] = []
    depth = 0
    quoted = escaped = False
    for char in text:
        if escaped:
            escaped = False
            if depth == 0:
                out.append(char)
            continue
        if char == "\\" and (quoted or depth):
            escaped = True
            if depth == 0:
                out.append(char)
            continue
        if quoted:
            quoted = char != '"'
            out.append(char)
        elif char == '"' and depth == 0:
            quoted = True
            out.append(char)
        elif char == "(":
            depth += 1
        elif char == ")" and depth:
            depth -= 1
        elif depth == 0:
            out.append(char)
    return "".join(out)


def _split_semicolons(text: str) -> list[str]:
    """Split at ``;`` outside quoted strings."""
    if '"' not in text:
        return text.split(";")
    items: list[str] = []
    current: list[str] = []
    quoted = escaped = False
    for char in text:
        if escaped:
            escaped = False
        elif char == "\\" and quoted:
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif char == ";" and not quoted:
            items.append("".join(current))
            current = []
            continue
        current.append(char)
    items.append("".join(current))
    return items


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == '"' and value[-1] == '"':
        inner = value[1:-1]
        if "\\" not in inner:
            return inner
        out: list[str] = []
        escaped = False
        for char in inner:
            if escaped or char != "\\":
                out.append(char)
                escaped = False
            else:
                escaped = True
        return "".join(out)
    return value
