"""``BINARY[section]`` content: a section with its Content-Transfer-Encoding undone (RFC 3516 §3, §4.2, §4.3).

Owns decoding the transfer encodings RFC 2045 defines (§6.7
quoted-printable, §6.8 base64; 7bit, 8bit and binary are the identity) and
saying which decoded data must travel as a ``literal8``. A leaf part yields
its decoded body. A multipart or message/rfc822 section (and ``BINARY[]``,
the whole message) has no encoding of its own (RFC 2045 §6.4), so, as
Dovecot answers, it yields its bytes with every leaf inside decoded and that
leaf's Content-Transfer-Encoding field saying ``binary``: the client gets the
same tree, nothing left to decode. An encoding this module does not know
raises ``UnknownTransferEncoding`` (the FETCH handler answers
``NO [UNKNOWN-CTE]``); data is never guessed. Decoded text/* parts get CRLF
line ends (RFC 3516 §4.3).

It also owns the form a message APPENDed as a literal8 is stored in
(``stored_form``): a leaf labelled ``binary`` whose body holds NUL is
stored base64-encoded, as RFC 3516 §4.4 allows and Dovecot does, because
NUL can never travel in the plain literal of ``BODY[]`` (RFC 3501 §9,
CHAR8). Every other octet stays as sent, and ``BINARY[]`` gives the sent
bytes back. Never touches sockets, the reactor or the disk.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable
from dataclasses import dataclass

from cpmstore.mime.headers import decode_base64
from cpmstore.mime.parse import Entity, parse_message
from cpmstore.mime.sections import find_part

__all__ = ["BinarySection", "UnknownTransferEncoding", "binary_section", "stored_form", "undo_transfer_encoding"]

_IDENTITY = frozenset({b"7bit", b"8bit", b"binary"})
_BARE_LF = re.compile(rb"(?<!\r)\n")
_TRAILING_BLANKS = re.compile(rb"[ \t]+(?=\r?\n|\Z)")


class UnknownTransferEncoding(ValueError):
    """A part names a Content-Transfer-Encoding that cannot be undone."""

    def __init__(self, encoding: bytes) -> None:
        super().__init__(f"Unknown Content-Transfer-Encoding {encoding[:40]!r}")
        self.encoding = encoding


@dataclass(frozen=True, slots=True)
class BinarySection:
    """Decoded section ``data``; ``binary`` when it must go as a literal8:
    it holds NUL, or comes out of base64, quoted-printable or a part
    labelled binary, whose domain is binary, not 8bit (RFC 3516 §4.3 asks
    for a string only for 8bit data without NUL; Dovecot draws the line at
    the same place)."""

    data: bytes
    binary: bool


def undo_transfer_encoding(body: bytes, encoding: bytes | None) -> tuple[bytes, bool]:
    """``(octets, decoded)``: the octets ``body`` stands for under
    ``encoding`` (None or empty is 7bit, RFC 2045 §6.1), and whether the
    result's domain is binary. Raises ``UnknownTransferEncoding``."""
    name = (encoding or b"7bit").strip().lower()
    if name == b"base64":
        return decode_base64(body), True
    if name == b"quoted-printable":
        # RFC 2045 §6.7 rule 3: blanks ending an encoded line are padding.
        return binascii.a2b_qp(_TRAILING_BLANKS.sub(b"", body)), True
    if name in _IDENTITY:
        return body, name == b"binary"
    raise UnknownTransferEncoding(name)


def binary_section(message: bytes, parts: tuple[int, ...]) -> BinarySection | None:
    """``BINARY[parts]`` of ``message``, or None when the part does not exist."""
    root = parse_message(message)
    entity = find_part(root, parts)
    if entity is None:
        return None
    state = _State()

    def leaf(child: Entity) -> bytes:
        return _header_saying(message, child, b"binary") + _decoded_body(message, child, state)

    if not parts:
        data = _converted(message, entity, leaf)
    elif entity.is_multipart:
        data = _converted_body(message, entity, leaf)
    elif entity.message is not None:
        data = _converted(message, entity.message, leaf)
    else:
        data = _decoded_body(message, entity, state)
    return BinarySection(data, state.binary or b"\x00" in data)


def stored_form(message: bytes) -> bytes:
    """``message`` with each leaf labelled binary whose body holds NUL
    turned into base64 (76-character lines); ``message`` itself when there
    is none. The decoded body is the sent body, octet for octet."""
    if b"\x00" not in message:
        return message

    def leaf(child: Entity) -> bytes:
        body = message[child.body_start:child.end]
        encoding = (child.value(message, b"content-transfer-encoding") or b"").strip().lower()
        if encoding != b"binary" or b"\x00" not in body:
            return message[child.start:child.end]
        encoded = base64.encodebytes(body).rstrip(b"\n").replace(b"\n", b"\r\n")
        return _header_saying(message, child, b"base64") + encoded

    return _converted(message, parse_message(message), leaf)


class _State:
    __slots__ = ("binary",)

    def __init__(self) -> None:
        self.binary = False


def _decoded_body(message: bytes, entity: Entity, state: _State) -> bytes:
    encoding = entity.value(message, b"content-transfer-encoding")
    data, binary = undo_transfer_encoding(message[entity.body_start:entity.end], encoding)
    if binary and entity.type == "text":
        data = _BARE_LF.sub(b"\r\n", data)  # RFC 3516 §4.3: text goes with CRLF
    state.binary = state.binary or binary
    return data


def _converted(message: bytes, entity: Entity, leaf: Callable[[Entity], bytes]) -> bytes:
    """The entity, header and body, with every leaf inside replaced by ``leaf(part)``."""
    if entity.is_multipart:
        return message[entity.start:entity.body_start] + _converted_body(message, entity, leaf)
    if entity.message is not None:
        return message[entity.start:entity.body_start] + _converted(message, entity.message, leaf)
    return leaf(entity)


def _converted_body(message: bytes, entity: Entity, leaf: Callable[[Entity], bytes]) -> bytes:
    """A multipart body: preamble, delimiters and epilogue as stored, each part converted."""
    out = []
    pos = entity.body_start
    for child in entity.children:
        out.append(message[pos:child.start])
        out.append(_converted(message, child, leaf))
        pos = child.end
    out.append(message[pos:entity.end])
    return b"".join(out)


def _header_saying(message: bytes, entity: Entity, encoding: bytes) -> bytes:
    """The leaf's header with its Content-Transfer-Encoding now ``encoding``.
    Saying ``binary`` of a leaf without the field, or whose field already
    names an identity encoding, leaves the header as it is."""
    header = message[entity.start:entity.body_start]
    field = entity.index.get(b"content-transfer-encoding")
    if field is None:
        return header
    value = (entity.value(message, b"content-transfer-encoding") or b"").strip().lower()
    if encoding == b"binary" and value in _IDENTITY:
        return header
    original = message[field.start:field.end]
    line_break = original[len(original.rstrip(b"\r\n")):]
    start, end = field.value_start - entity.start, field.end - entity.start
    return header[:start] + b" " + encoding + line_break + header[end:]
