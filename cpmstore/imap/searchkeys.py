"""SEARCH keys (RFC 3501 §6.4.4, §9 ``search-key``; RFC 5032 WITHIN; RFC 5182 ``$``;
RFC 8514 §4.3 SAVEDATE keys) as a small tree.

Owns the value type and its parser. Equivalent keys are folded to one form
so the evaluator has few cases. No sockets, no reactor, no disk.

``SearchKey.op`` and its ``args``:

- ``ALL`` ()                       also SAVEDATESUPPORTED (RFC 8514: every folder keeps save dates)
- ``AND`` (key, key, ...)        a parenthesized list, or the top level
- ``OR`` (key, key)
- ``NOT`` (key,)
- ``SEQSET`` (SequenceSet,)      a bare sequence set
- ``UID`` (SequenceSet,)          also a bare ``$`` (RFC 5182): the saved result is UIDs
- ``FLAG`` (flag,)               ANSWERED DELETED DRAFT FLAGGED SEEN RECENT, KEYWORD k
- ``UNFLAG`` (flag,)             UNANSWERED ... UNSEEN, UNKEYWORD k
- ``NEW`` () / ``OLD`` ()        as defined in §6.4.4
- ``HEADER`` (name: bytes, value: bytes)  also FROM TO CC BCC SUBJECT (name upper-cased)
- ``BODY`` (bytes,) / ``TEXT`` (bytes,)
- ``BEFORE`` ``ON`` ``SINCE`` ``SENTBEFORE`` ``SENTON`` ``SENTSINCE`` (datetime.date,)
- ``SAVEDBEFORE`` ``SAVEDON`` ``SAVEDSINCE`` (datetime.date,)   RFC 8514 §4.3
- ``LARGER`` ``SMALLER`` (int,)
- ``OLDER`` ``YOUNGER`` (int,)     seconds against INTERNALDATE (RFC 5032 §3), nz-number
- ``MODSEQ`` (int,)                 RFC 7162 §3.1.5; the optional entry name and type are
                                    read and dropped (every flag shares one MODSEQ here)

Flags are ``str`` in canonical case for system flags (``\\Seen``); strings
are raw ``bytes`` (decoded by the evaluator with the command's CHARSET).
"""

from __future__ import annotations

from dataclasses import dataclass

from .reader import Reader
from .seqset import read_sequence_set


@dataclass(frozen=True, slots=True)
class SearchKey:
    op: str
    args: tuple = ()


# -- parsing (RFC 3501 §6.4.4, §9 search-key) ---------------------------------
MAX_DEPTH = 64  # parentheses, NOT and OR nesting; deeper is a BAD, not a RecursionError

_SYSTEM = {"ANSWERED": "\\Answered", "DELETED": "\\Deleted", "DRAFT": "\\Draft",
           "FLAGGED": "\\Flagged", "SEEN": "\\Seen"}
_FLAG_KEYS = {**_SYSTEM, "RECENT": "\\Recent"}
_UNFLAG_KEYS = {"UN" + key: flag for key, flag in _SYSTEM.items()}
_HEADER_KEYS = frozenset({"FROM", "TO", "CC", "BCC", "SUBJECT"})
_DATE_KEYS = frozenset({"BEFORE", "ON", "SINCE", "SENTBEFORE", "SENTON", "SENTSINCE",
                        "SAVEDBEFORE", "SAVEDON", "SAVEDSINCE"})
_KEYS_WITH_ARGUMENTS = _HEADER_KEYS | _DATE_KEYS | {
    "KEYWORD", "UNKEYWORD", "HEADER", "BODY", "TEXT", "LARGER", "SMALLER", "UID", "NOT", "OR",
    "MODSEQ", "OLDER", "YOUNGER"}
_ENTRY_TYPES = frozenset({b"PRIV", b"SHARED", b"ALL"})
_SEQ_START = frozenset(b"0123456789*$")


def _and(keys: list[SearchKey]) -> SearchKey:
    """One key stays itself; nested ANDs are flattened into one."""
    if len(keys) == 1:
        return keys[0]
    flat: list[SearchKey] = []
    for key in keys:
        flat.extend(key.args if key.op == "AND" else (key,))
    return SearchKey("AND", tuple(flat))


def read_search_keys(reader: Reader) -> SearchKey:
    """``search-key *(SP search-key)`` up to the end of the command."""
    keys = [_read_key(reader, 0)]
    while not reader.at_end():
        reader.sp()
        keys.append(_read_key(reader, 0))
    return _and(keys)


def parse_search_keys(data: bytes) -> SearchKey:
    """``b"FLAGGED SINCE 1-Feb-1994 NOT FROM Smith"`` -> one SearchKey."""
    return read_search_keys(Reader(data))


def _read_key(reader: Reader, depth: int) -> SearchKey:
    if depth >= MAX_DEPTH:
        raise reader.error("Search keys nested too deeply")
    reader.need()
    first = reader.data[reader.pos]
    if first == 0x28:  # (
        return _and(reader.paren_list(lambda r: _read_key(r, depth + 1), allow_empty=False))
    if first in _SEQ_START:
        seqset = read_sequence_set(reader)
        # "$" holds UIDs whatever command saved it (RFC 5182 §2.1), so it is a UID key.
        return SearchKey("UID" if seqset.saved else "SEQSET", (seqset,))
    name = reader.keyword()
    if name == "ALL" or name == "NEW" or name == "OLD":
        return SearchKey(name)
    if name == "SAVEDATESUPPORTED":
        return SearchKey("ALL")
    if name in _FLAG_KEYS:
        return SearchKey("FLAG", (_FLAG_KEYS[name],))
    if name in _UNFLAG_KEYS:
        return SearchKey("UNFLAG", (_UNFLAG_KEYS[name],))
    if name not in _KEYS_WITH_ARGUMENTS:
        raise reader.error(f"Unknown search key {name[:40]}")
    reader.sp()
    if name == "KEYWORD" or name == "UNKEYWORD":
        return SearchKey("FLAG" if name == "KEYWORD" else "UNFLAG", (reader.atom().decode("ascii"),))
    if name in _HEADER_KEYS:
        return SearchKey("HEADER", (name.encode("ascii"), reader.astring()))
    if name == "HEADER":
        field = reader.astring().upper()
        reader.sp()
        return SearchKey("HEADER", (field, reader.astring()))
    if name == "BODY" or name == "TEXT":
        return SearchKey(name, (reader.astring(),))
    if name in _DATE_KEYS:
        return SearchKey(name, (reader.date(),))
    if name == "LARGER" or name == "SMALLER":
        return SearchKey(name, (reader.number(),))
    if name == "OLDER" or name == "YOUNGER":
        return SearchKey(name, (reader.nz_number(),))
    if name == "UID":
        return SearchKey("UID", (read_sequence_set(reader),))
    if name == "MODSEQ":
        if reader.peek() == b'"':
            reader.quoted()  # entry-name: "/flags/\\seen" and the like
            reader.sp()
            if reader.atom().upper() not in _ENTRY_TYPES:
                raise reader.error("Invalid MODSEQ entry type")
            reader.sp()
        return SearchKey("MODSEQ", (reader.mod_sequence(),))
    if name == "NOT":
        return SearchKey("NOT", (_read_key(reader, depth + 1),))
    left = _read_key(reader, depth + 1)  # OR
    reader.sp()
    return SearchKey("OR", (left, _read_key(reader, depth + 1)))
