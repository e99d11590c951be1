"""The ANNOTATION fetch item of ANNOTATE-EXPERIMENT-1 (RFC 5257 §4.3, §3.2).

Pure encoding: given what a client asked for (entry specifiers, which may
hold the ``*`` and ``%`` wildcards of §3.2, and attributes) and a message's
annotations, the bytes of ``ANNOTATION (entry (attrib value ...) ...)``. An
entry named without wildcards is always answered (NIL values, size "0"); a
wildcard answers only the entries the message has. No storage, no sockets.
"""

from __future__ import annotations

import re
from functools import lru_cache

from . import response as wire


@lru_cache(maxsize=256)
def _pattern(spec: str) -> re.Pattern:
    # RFC 5257 §3.2: "*" matches one or more characters, "%" the same without "/".
    parts = [".+" if ch == "*" else "[^/]*" if ch == "%" else re.escape(ch) for ch in spec]
    return re.compile("".join(parts) + r"\Z", re.DOTALL)


def matching_entries(specs: tuple[str, ...], present: list[str]) -> list[str]:
    """The entries to answer, in the order asked, each once."""
    chosen: dict[str, None] = {}
    for spec in specs:
        if "*" in spec or "%" in spec:
            pattern = _pattern(spec)
            for entry in sorted(present):
                if pattern.match(entry):
                    chosen[entry] = None
        else:
            chosen[spec] = None
    return list(chosen)


def encode_annotation(entries: tuple[str, ...], attribs: tuple[str, ...],
                      values: list[tuple[str, str, bytes]]) -> bytes:
    """``values`` are (entry, "shared" | "priv", value) of one message."""
    by_entry: dict[str, dict[str, bytes]] = {}
    for entry, kind, value in values:
        by_entry.setdefault(entry, {})[kind] = value
    parts = []
    for entry in matching_entries(entries, list(by_entry)):
        have = by_entry.get(entry, {})
        words = []
        for attrib in attribs:
            what, _, kind = attrib.partition(".")
            value = have.get(kind)
            if what == "value":
                words.append(attrib.encode() + b" " + wire.nstring(value))
            else:
                words.append(attrib.encode() + b' "%d"' % (len(value) if value is not None else 0))
        parts.append(wire.astring(entry.encode()) + b" (" + b" ".join(words) + b")")
    return b"ANNOTATION (" + b" ".join(parts) + b")"
