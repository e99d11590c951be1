"""Sequence sets (RFC 3501 §9 ``sequence-set``), kept as ranges, never expanded.

Owns the value type and its parser. ``*`` is stored as ``STAR`` (0) and
resolved against the mailbox's largest number only when the set is used, so
``1:4294967295`` costs the same as ``1:10``. No sockets, no reactor, no disk.
"""

from __future__ import annotations

from dataclasses import dataclass

STAR = 0  # "*": the largest number in use; resolved by ``ranges``


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

    def __contains__(self, n: int) -> bool:  # only for sets without STAR
        return any(min(lo, hi) <= n <= max(lo, hi) for lo, hi in self.items)
