"""BODY and BODYSTRUCTURE (RFC 3501 §7.4.2, grammar in §9 ``body``).

Owns turning an entity tree (``cpmstore.mime.parse``) into the nested
values that ``cpmstore.imap.response.encode_value`` writes. Spelling chosen
here, once for every message:

- media type, subtype, encoding and parameter *names* upper-case (the form
  of the RFC 3501 examples: ``"TEXT" "PLAIN" ("CHARSET" "US-ASCII")``);
  parameter values, disposition type, ids and descriptions as sent;
- a text part without a charset gets ``("CHARSET" "US-ASCII")`` (RFC 2046
  §4.1.2 default), an absent encoding ``"7BIT"`` (RFC 2045 §6.1);
- message/rfc822 carries envelope, body and lines; message/cpim is a basic
  body (RFC 3501 gives only MESSAGE/RFC822 that treatment).

Never touches sockets, the reactor or the disk.
"""

from __future__ import annotations

from cpmstore.imap.response import Run
from cpmstore.mime.envelope import envelope_value
from cpmstore.mime.parse import Entity, parse_params

_EMPTY_TEXT = ("text", "plain")


def body_value(data: bytes, entity: Entity, extended: bool) -> list[object]:
    """BODY (``extended`` False) or BODYSTRUCTURE (True) of ``entity``."""
    if entity.is_multipart:
        return _multipart(data, entity, extended)
    return _basic(data, entity, extended)


def _multipart(data: bytes, entity: Entity, extended: bool) -> list[object]:
    if entity.children:
        value: list[object] = [Run(body_value(data, child, extended) for child in entity.children)]
    else:
        # The grammar needs one body at least: a multipart without any
        # delimiter shows as one empty text/plain part.
        empty = Entity(entity.body_start, entity.body_start, entity.body_start, (), {}, *_EMPTY_TEXT, ())
        value = [Run([_basic(data, empty, extended)])]
    value.append(entity.subtype.upper())
    if extended:
        value.append(_params(entity.params) or None)
        value.extend(_extension(data, entity))
    return value


def _basic(data: bytes, entity: Entity, extended: bool) -> list[object]:
    params = _params(entity.params)
    if entity.type == "text" and entity.param("charset") is None:
        params = ["CHARSET", "US-ASCII"] + params
    encoding = entity.value(data, b"content-transfer-encoding")
    value: list[object] = [
        entity.type.upper(),
        entity.subtype.upper(),
        params or None,
        entity.value(data, b"content-id"),
        entity.value(data, b"content-description"),
        encoding.upper() if encoding else "7BIT",
        entity.end - entity.body_start,
    ]
    lines = data.count(b"\n", entity.body_start, entity.end)
    if entity.message is not None:
        embedded = entity.message
        value += [envelope_value(data, embedded.index), body_value(data, embedded, extended), lines]
    elif entity.type == "text":
        value.append(lines)
    if extended:
        value.append(entity.value(data, b"content-md5"))
        value.extend(_extension(data, entity))
    return value


def _extension(data: bytes, entity: Entity) -> list[object]:
    """body-fld-dsp, body-fld-lang, body-fld-loc."""
    disposition: list[object] | None = None
    raw = entity.value(data, b"content-disposition")
    if raw:
        kind, params = parse_params(raw)
        if kind:
            disposition = [kind.encode("latin-1"), _params(params) or None]
    language: list[object] | None = None
    raw = entity.value(data, b"content-language")
    if raw:
        tags = [tag.strip() for tag in raw.split(b",") if tag.strip()]
        language = list(tags) or None
    return [disposition, language, entity.value(data, b"content-location")]


def _params(params: tuple[tuple[str, str], ...]) -> list[object]:
    flat: list[object] = []
    for name, value in params:
        flat += [name.upper().encode("latin-1"), value.encode("latin-1")]
    return flat
