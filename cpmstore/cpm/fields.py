"""CPM identity header fields, for SEARCH HEADER and notifications.

Owns which CPM headers the index keeps per object (OMA CPM Message Storage
as described in shared/cpm-formats.md §3.1 and §8) and how their values are
normalized: unfolded (RFC 5322 §2.2.3), stripped, RFC 2047 decoded (so that
an SMS ``Message-Correlator`` written as ``=?utf-8?b?...?=`` matches like
any other SEARCH HEADER value), surrounding double quotes removed (some CMS
servers write ``Message-Context: "pager-message"``). Never touches sockets,
the reactor or the disk; never validates: an object without these headers is
still stored.
"""

from __future__ import annotations

from cpmstore.mime.headers import Field, decode_words, header_end, raw_value, split_fields

INDEXED_FIELDS: tuple[str, ...] = (
    "conversation-id",
    "contribution-id",
    "inreplyto-contribution-id",
    "imdn-message-id",
    "message-correlator",
    "message-context",
    "message-direction",
)

_INDEXED = frozenset(name.encode("ascii") for name in INDEXED_FIELDS)


def extract_fields(header_block: bytes) -> dict[str, str]:
    """The indexed CPM fields present in ``header_block``, keyed by lower-case
    name; the first occurrence of a repeated field wins."""
    return fields_of(header_block, split_fields(header_block, 0, header_end(header_block)))


def fields_of(data: bytes, fields: tuple[Field, ...]) -> dict[str, str]:
    """``extract_fields`` over fields already split from ``data``."""
    found: dict[str, str] = {}
    for field in fields:
        name = field.name.lower()
        if name not in _INDEXED:
            continue
        key = name.decode("ascii")
        if key in found:
            continue
        value = decode_words(raw_value(data, field)).strip()
        if len(value) >= 2 and value[0] == '"' and value[-1] == '"':
            value = value[1:-1].strip()
        found[key] = value
    return found
