"""CONDSTORE and QRESYNC parameters (RFC 7162 §3.1.2-3.1.4, §3.2.5, §3.2.6, §7).

The parser keeps SELECT parameters and FETCH/STORE modifiers as raw
``(NAME, value)`` pairs; this module turns them into typed values, so the
grammar of each lives in one place and handlers see no bytes. Pure
functions: no sockets, no reactor, no disk.
"""

from __future__ import annotations

from dataclasses import dataclass

from .reader import MAX_MODSEQ, ParseError
from .seqset import SequenceSet, parse_sequence_set


@dataclass(frozen=True, slots=True)
class QResync:
    """``QRESYNC (uidvalidity modseq [known-uids [(seq-match uid-match)]])``."""

    uid_validity: int
    modseq: int
    known_uids: SequenceSet | None = None
    seq_match: tuple[SequenceSet, SequenceSet] | None = None


@dataclass(frozen=True, slots=True)
class SelectParams:
    condstore: bool = False
    qresync: QResync | None = None


@dataclass(frozen=True, slots=True)
class FetchModifiers:
    changed_since: int | None = None
    vanished: bool = False


def _modseq(value: object, name: str, nonzero: bool = False) -> int:
    if not isinstance(value, bytes) or not value.isdigit() or len(value) > 19:
        raise ParseError(f"{name} needs a mod-sequence value")
    number = int(value)
    if number > MAX_MODSEQ or (nonzero and number == 0):
        raise ParseError(f"{name}: invalid mod-sequence value")
    return number


def _number(value: object, name: str) -> int:
    if not isinstance(value, bytes) or not value.isdigit() or len(value) > 10 or not 0 < int(value) < 2**32:
        raise ParseError(f"{name} needs a number")
    return int(value)


def _seqset(value: object, name: str) -> SequenceSet:
    if not isinstance(value, bytes):
        raise ParseError(f"{name} needs a sequence set")
    return parse_sequence_set(value)


def select_params(params: tuple) -> SelectParams:
    condstore = False
    qresync = None
    for name, value in params:
        if name == "CONDSTORE" and value is None:
            condstore = True
        elif name == "QRESYNC" and isinstance(value, tuple) and 2 <= len(value) <= 4:
            known = _seqset(value[2], "QRESYNC known-uids") if len(value) > 2 else None
            match = None
            if len(value) == 4:
                pair = value[3]
                if not (isinstance(pair, tuple) and len(pair) == 2):
                    raise ParseError("QRESYNC seq-match-data needs two sequence sets")
                match = (_seqset(pair[0], "QRESYNC"), _seqset(pair[1], "QRESYNC"))
            qresync = QResync(_number(value[0], "QRESYNC uidvalidity"),
                              _modseq(value[1], "QRESYNC mod-sequence"), known, match)
        else:
            raise ParseError(f"Unknown SELECT parameter {name}")
    return SelectParams(condstore or qresync is not None, qresync)


def fetch_modifiers(modifiers: tuple) -> FetchModifiers:
    changed_since = None
    vanished = False
    for name, value in modifiers:
        if name == "CHANGEDSINCE":
            changed_since = _modseq(value, "CHANGEDSINCE")
        elif name == "VANISHED" and value is None:
            vanished = True
        else:
            raise ParseError(f"Unknown FETCH modifier {name}")
    if vanished and changed_since is None:
        raise ParseError("VANISHED needs CHANGEDSINCE")  # RFC 7162 §3.2.6
    return FetchModifiers(changed_since, vanished)


def store_unchanged_since(modifiers: tuple) -> int | None:
    unchanged = None
    for name, value in modifiers:
        if name == "UNCHANGEDSINCE":
            unchanged = _modseq(value, "UNCHANGEDSINCE")
        else:
            raise ParseError(f"Unknown STORE modifier {name}")
    return unchanged
