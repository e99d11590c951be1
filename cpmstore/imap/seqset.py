"""Sequence sets (RFC 3501 §9 ``sequence-set``), kept as ranges, never expanded.

Owns the value type and its parser. ``*`` is stored as ``STAR`` (0) and
resolved against the mailbox's largest number only when the set is used, so
``1:4294967295`` costs the same as ``1:10``. ``$`` (RFC 5182 §3
``seq-last-command``, the saved result of the last ``SEARCH RETURN (SAVE)``)
is read as ``SAVED``, a set that names nothing by itself: only the session's
selected view knows what it holds and substitutes it. No sockets, no
reactor, no disk.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass
from typing import Iterable, Iterator

from .reader import MAX_NUMBER, ParseError, Reader

STAR = 0  # "*": the largest number in use; resolved by ``ranges``


class RangeSet:
    """Merged inclusive ranges with O(log n) membership."""

    __slots__ = ("starts", "ranges")

    def __init__(self, ranges: list[tuple[int, int]]) -> None:
        self.ranges = ranges
        self.starts = [lo for lo, _hi in ranges]

    def __contains__(self, n: int) -> bool:
        i = bisect_right(self.starts, n) - 1
        return i >= 0 and n <= self.ranges[i][1]


@dataclass(frozen=True, slots=True)
class SequenceSet:
    """Ranges as written by the client: ``((lo, hi), ...)``, either end may be STAR.

    ``saved`` marks ``$`` (RFC 5182): ``items`` is then empty and the set
    stands for the UIDs the session saved, which the selected view puts in
    its place before use."""

    items: tuple[tuple[int, int], ...]
    saved: bool = False

    def ranges(self, largest: int) -> list[tuple[int, int]]:
        """Sorted, merged, inclusive ranges with ``*`` replaced by ``largest``.

        ``n:m`` and ``m:n`` are the same range (RFC 3501 §9). With an empty
        mailbox (``largest == 0``) ``*`` means 0 and contributes nothing.
        """
        spans = []
        for lo, hi in self.items:
            lo = largest if lo == STAR else lo
            hi = largest if hi == STAR else hi
            if lo > hi:
                lo, hi = hi, lo
            if hi == 0:
                continue
            spans.append((max(lo, 1), hi))
        spans.sort()
        merged: list[tuple[int, int]] = []
        for lo, hi in spans:
            if merged and lo <= merged[-1][1] + 1:
                if hi > merged[-1][1]:
                    merged[-1] = (merged[-1][0], hi)
            else:
                merged.append((lo, hi))
        return merged

    def matcher(self, largest: int) -> "RangeSet":
        """Membership test for this set with ``*`` = ``largest``, by bisect."""
        return RangeSet(self.ranges(largest))

    def __contains__(self, n: int) -> bool:  # only for sets without STAR
        return any(min(lo, hi) <= n <= max(lo, hi) for lo, hi in self.items)


SAVED = SequenceSet((), saved=True)  # "$", RFC 5182 §3


def runs(numbers: Iterable[int]) -> Iterator[tuple[int, int]]:
    """Consecutive numbers as inclusive runs, in the order given: 1 2 3 7 -> (1, 3) (7, 7)."""
    start = prev = None
    for n in numbers:
        if start is None:
            start = prev = n
        elif n == prev + 1:
            prev = n
        else:
            yield start, prev
            start = prev = n
    if start is not None:
        yield start, prev


# -- parsing (RFC 3501 §9 sequence-set) ---------------------------------------
MAX_RANGES = 100000  # more comma-separated items than this is a BAD, not a DoS

_SPAN = re.compile(rb"[0-9*:,]+")
_ITEM = re.compile(rb"(\*|[1-9][0-9]{0,9})(?::(\*|[1-9][0-9]{0,9}))?")


def _seq_number(text: bytes) -> int:
    return STAR if text == b"*" else int(text)


def read_sequence_set(reader: Reader) -> SequenceSet:
    """Read a sequence-set at the reader's position; ranges kept as written.
    ``$`` stands alone (RFC 5182 §3): ``1,$`` is as invalid as in Dovecot."""
    reader.need()
    if reader.peek() == b"$":
        reader.pos += 1
        if reader.peek() not in (b"", b" ", b")"):
            raise reader.error("Invalid sequence set")
        return SAVED
    m = reader.match(_SPAN)
    if m is None:
        raise reader.error("Invalid sequence set")
    text = m.group()
    if text.count(b",") >= MAX_RANGES:
        raise reader.error("Too many ranges in sequence set")
    items = []
    for piece in text.split(b","):
        im = _ITEM.fullmatch(piece)
        if im is None:
            raise reader.error("Invalid sequence set")
        lo = _seq_number(im.group(1))
        hi = lo if im.group(2) is None else _seq_number(im.group(2))
        if lo > MAX_NUMBER or hi > MAX_NUMBER:
            raise reader.error("Invalid sequence set: number too large")
        items.append((lo, hi))
    return SequenceSet(tuple(items))


def parse_sequence_set(data: bytes) -> SequenceSet:
    """``b"1:4,7,9:*"`` -> SequenceSet; raises ParseError."""
    reader = Reader(data)
    result = read_sequence_set(reader)
    reader.end()
    return result


__all__ = ["MAX_RANGES", "SAVED", "STAR", "ParseError", "SequenceSet", "parse_sequence_set",
           "read_sequence_set", "runs"]
