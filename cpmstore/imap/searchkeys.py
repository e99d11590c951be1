"""SEARCH keys (RFC 3501 §6.4.4, §9 ``search-key``) as a small tree.

Owns the value type and its parser. Equivalent keys are folded to one form
so the evaluator has few cases. No sockets, no reactor, no disk.

``SearchKey.op`` and its ``args``:

- ``ALL`` ()
- ``AND`` (key, key, ...)        a parenthesized list, or the top level
- ``OR`` (key, key)
- ``NOT`` (key,)
- ``SEQSET`` (SequenceSet,)      a bare sequence set
- ``UID`` (SequenceSet,)
- ``FLAG`` (flag,)               ANSWERED DELETED DRAFT FLAGGED SEEN RECENT, KEYWORD k
- ``UNFLAG`` (flag,)             UNANSWERED ... UNSEEN, UNKEYWORD k
- ``NEW`` () / ``OLD`` ()        as defined in §6.4.4
- ``HEADER`` (name: bytes, value: bytes)  also FROM TO CC BCC SUBJECT (name upper-cased)
- ``BODY`` (bytes,) / ``TEXT`` (bytes,)
- ``BEFORE`` ``ON`` ``SINCE`` ``SENTBEFORE`` ``SENTON`` ``SENTSINCE`` (datetime.date,)
- ``LARGER`` ``SMALLER`` (int,)

Flags are ``str`` in canonical case for system flags (``\\Seen``); strings
are raw ``bytes`` (decoded by the evaluator with the command's CHARSET).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SearchKey:
    op: str
    args: tuple = ()
