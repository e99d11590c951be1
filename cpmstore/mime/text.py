"""Decoded text of a message's text parts, for SEARCH BODY and TEXT (RFC 3501 §6.4.4).

Owns undoing Content-Transfer-Encoding (RFC 2045 §6.7 quoted-printable,
§6.8 base64) and the charset of every text/* part, including the text
inside a CPM chat object (message/cpim, RFC 3862: CPIM headers, then a MIME
entity) and inside embedded message/rfc822 messages. Headers are not
included in ``searchable_text``; ``search_keys`` gives both, as the keys
SEARCH compares, and is what the text index (``store/texts.py``) keeps.
Errors become U+FFFD, never exceptions. Never touches sockets, the reactor
or the disk.
"""

from __future__ import annotations

import binascii

from cpmstore.mime.headers import decode_base64, decode_charset, decode_words
from cpmstore.mime.parse import MAX_DEPTH, Entity, parse_entity, parse_message
from cpmstore.mime.sortkeys import casemap


def searchable_text(message: bytes) -> str:
    """The decoded text of all text/* parts (and message/cpim inner text),
    one part per line."""
    texts: list[str] = []
    _collect(message, parse_message(message), texts, 0)
    return "\n".join(texts)


def search_keys(message: bytes, root: Entity | None = None) -> tuple[str, str]:
    """(header key, body key): the decoded header block (RFC 2047 words) and
    the ``searchable_text``, each as its i;unicode-casemap key. SEARCH BODY
    matches a key inside the body key, SEARCH TEXT inside either. ``root``
    is the message's parse when the caller already has it (APPEND does)."""
    try:
        if root is None:
            root = parse_message(message)
        texts: list[str] = []
        _collect(message, root, texts, 0)
        header = message[root.start:root.body_start]  # BODY[HEADER] exactly
        return casemap(decode_words(header)), casemap("\n".join(texts))
    except Exception:  # noqa: BLE001 - input the parser was never tested on
        # As ``analysis.analyze`` stores such a message: one text/plain body.
        return "", casemap(message.decode("utf-8", "replace"))


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
