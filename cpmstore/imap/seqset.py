"""Sequence sets (RFC 3501 §9 ``sequence-set``), kept as ranges, never expanded.

Owns the value type and its parser. ``*`` is stored as ``STAR`` (0) and
resolved against the mailbox's largest number only when the set is used, so
``1:4294967295`` costs the same as ``1:10``. No sockets, no reactor, no disk.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass

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
    """Ranges as written by the client: ``((lo, hi), ...)``, either end may be STAR."""

    items: tuple[tuple[int, int], ...]

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


# -- parsing (RFC 3501 §9 sequence-set) ---------------------------------------
MAX_RANGES = 100000  # more comma-separated items than this is a BAD, not a DoS

_SPAN = re.compile(rb"[0-9*:,]+")
_ITEM = re.compile(rb"(\*|[1-9][0-9]{0,9})(?::(\*|[1-9][0-9]{0,9}))?")


def _seq_number(text: bytes) -> int:
    return STAR if text == b"*" else int(text)


def read_sequence_set(reader: Reader) -> SequenceSet:
    """Read a sequence-set at the reader's position; ranges kept as written."""
    reader.need()
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


__all__ = ["MAX_RANGES", "STAR", "ParseError", "SequenceSet", "parse_sequence_set",
           "read_sequence_set"]
