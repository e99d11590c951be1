"""Decoded text of a message's text parts, for SEARCH BODY (RFC 3501 §6.4.4).

Owns undoing Content-Transfer-Encoding (RFC 2045 §6.7 quoted-printable,
§6.8 base64) and the charset of every text/* part, including the text
inside a CPM chat object (message/cpim, RFC 3862: CPIM headers, then a MIME
entity) and inside embedded message/rfc822 messages. Headers are not
included: the SEARCH handler adds them for TEXT. Errors become U+FFFD, never
exceptions. Never touches sockets, the reactor or the disk.
"""

from __future__ import annotations

import binascii
import re

from cpmstore.mime.headers import decode_base64, decode_charset
from cpmstore.mime.parse import MAX_DEPTH, Entity, parse_entity, parse_message
from cpmstore.mime.sortkeys import casemap


def searchable_text(message: bytes) -> str:
    """The decoded text of all text/* parts (and message/cpim inner text),
    one part per line."""
    texts: list[str] = []
    _collect(message, parse_message(message), texts, 0)
    return "\n".join(texts)


# What makes a message's searchable text differ from its raw octets: a
# transfer encoding, an encoded word, or a charset other than UTF-8 (and its
# subset US-ASCII), which decode_charset reads as UTF-8 anyway.
_ENCODINGS = (b"base64", b"quoted-printable")
_CHARSET = re.compile(rb'charset\s*=\s*"?\s*([^\s;"]*)')
_AS_UTF8 = frozenset({b"", b"us-ascii", b"ascii", b"7bit", b"utf-8"})


def may_contain(message: bytes, key: str) -> bool:
    """False only if SEARCH TEXT or BODY for ``key`` (a casemap key without
    CR or LF) cannot match ``message``: a check about five times cheaper than
    parsing, done first. It holds when the message has no transfer encoding,
    encoded word or other charset and is valid UTF-8: the decoded header and
    every text part are then pieces of the message's own text, cut at line
    ends, and casemap maps character by character (NFKD reorders marks only
    up to the next base character, never across a line end), so a match in
    any piece is a match in the whole. Otherwise it answers True."""
    if "\n" in key or "\r" in key or b"=?" in message:
        return True
    lowered = message.lower()
    if any(name in lowered for name in _ENCODINGS):
        return True
    if b"charset" in lowered and any(m.group(1) not in _AS_UTF8 for m in _CHARSET.finditer(lowered)):
        return True
    try:
        text = message.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return key in casemap(text)


def decode_transfer_encoding(body: bytes, encoding: bytes | None) -> bytes:
    """The octets a Content-Transfer-Encoding hides; 7bit, 8bit, binary and
    unknown encodings are returned as they are."""
    name = (encoding or b"").strip().lower()
    if name == b"base64":
        return decode_base64(body)
    if name == b"quoted-printable":
        return binascii.a2b_qp(body)
    return body


def _collect(data: bytes, entity: Entity, texts: list[str], depth: int) -> None:
    if depth > MAX_DEPTH:
        return
    for child in entity.children:
        _collect(data, child, texts, depth + 1)
    if entity.message is not None:
        _collect(data, entity.message, texts, depth + 1)
    if entity.is_multipart or entity.message is not None:
        return
    if entity.type == "message" and entity.subtype == "cpim":
        _collect_cpim(data, entity, texts, depth)
    elif entity.type == "text":
        body = _decoded_body(data, entity)
        texts.append(decode_charset(body, entity.param("charset")))


def _collect_cpim(data: bytes, entity: Entity, texts: list[str], depth: int) -> None:
    """A CPIM body is a block of CPIM headers, a blank line, then one MIME
    entity; only that entity holds the user's text."""
    body = _decoded_body(data, entity)
    cpim = parse_entity(body, 0, len(body), ("text", "plain"), depth + 1)
    inner = parse_entity(body, cpim.body_start, len(body), ("text", "plain"), depth + 1)
    _collect(body, inner, texts, depth + 1)


def _decoded_body(data: bytes, entity: Entity) -> bytes:
    encoding = entity.value(data, b"content-transfer-encoding")
    return decode_transfer_encoding(data[entity.body_start:entity.end], encoding)
