"""One open folder's shared in-memory state (DESIGN §4, RFC 3501 §2.3.1).

Owns the arrays every session with the folder selected reads: UIDs (sorted),
flags (interned: identical flag sets are one frozenset object), MODSEQs, and
what makes the message file's name (unique part and size). They are loaded
once per process with one query and changed only on the reactor thread, by
the account, after a commit and before the change is published. ``uids`` is
replaced, never changed in place, so a session may keep the object it read as
its own snapshot. Operations that touch the index or the disk are delegated
to the account (``account.py``), which serializes them per user.

\\Recent (RFC 3501 §2.3.2) lives here only, per process: a message added while
this process runs is recent for exactly one session, the first to claim it.
"""

from __future__ import annotations

import os
from array import array
from bisect import bisect_left
from typing import TYPE_CHECKING, Iterable, Sequence

from zope.interface import implementer

from .interfaces import IMailbox, MailboxInfo, MessageMeta
from .maildir import canonical_name

if TYPE_CHECKING:
    from .account import Account


class FolderState:
    """Column arrays of one folder, built in a worker thread from the bulk query."""

    __slots__ = ("uids", "modseqs", "flags", "uniques", "sizes")

    def __init__(self) -> None:
        self.uids = array("L")
        self.modseqs = array("Q")
        self.flags: list[frozenset[str]] = []
        self.uniques = array("Q")
        self.sizes = array("Q")

    def remove(self, positions: list[int]) -> None:
        """Drop the messages at ``positions`` (sorted); ``uids`` becomes a new object."""
        for column in self.__slots__:
            setattr(self, column, _without(getattr(self, column), positions))


@implementer(IMailbox)
class Mailbox:
    def __init__(self, account: "Account", info: MailboxInfo, directory: str, state: FolderState, recent: set[int]) -> None:
        self._account = account
        self._directory = directory
        self._state = state
        self._unclaimed = recent
        self.id = info.id
        self.name = info.name
        self.uid_validity = info.uid_validity
        self.uid_next = info.uid_next
        self.highest_modseq = info.highest_modseq
        self.deleted = False
        self._spelling: dict[str, str] | None = None
        # Values derived from messages that never change (sort keys, thread
        # data), by kind then UID: computed once per process, not per command.
        self.derived: dict[str, dict[int, object]] = {}

    @property
    def account(self) -> "Account":
        """The owner's store: its bus carries this folder's changes."""
        return self._account

    # -- reads (reactor thread, no I/O) ---------------------------------------
    @property
    def uids(self) -> array:
        return self._state.uids

    def __contains__(self, uid: int) -> bool:
        i = bisect_left(self._state.uids, uid)
        return i < len(self._state.uids) and self._state.uids[i] == uid

    def _position(self, uid: int) -> int:
        i = bisect_left(self._state.uids, uid)
        if i == len(self._state.uids) or self._state.uids[i] != uid:
            raise KeyError(uid)
        return i

    def flags_of(self, uid: int) -> frozenset[str]:
        return self._state.flags[self._position(uid)]

    def positions(self, uids: list[int]) -> Sequence[int]:
        """Index of each of ``uids`` (ascending) in the column arrays, -1 for
        one no longer here: one merge walk, not a bisect per message. When
        ``uids`` are a run of the folder's own (a FETCH of ``1:*``, the common
        case) the answer is a ``range``, found by one comparison in C."""
        column = self._state.uids
        start = bisect_left(column, uids[0]) if uids else 0
        if column[start:start + len(uids)] == array("L", uids):
            return range(start, start + len(uids))
        found, i, size = [], start, len(column)
        for uid in uids:
            while i < size and column[i] < uid:
                i += 1
            found.append(i if i < size and column[i] == uid else -1)
        return found

    @property
    def columns(self) -> tuple[list, array, array]:
        """(flags, modseqs, sizes) by position: what ``positions`` indexes."""
        return self._state.flags, self._state.modseqs, self._state.sizes

    def spell(self, flag: str, register: bool = True) -> str:
        """The spelling this folder already uses for keyword ``flag``: keywords
        compare case-insensitively (RFC 3501 §2.3.2), so every message and
        session shares the first one stored, as in Dovecot."""
        if flag.startswith("\\"):
            return flag
        if self._spelling is None:
            spelling: dict[str, str] = {}
            for flags in set(self._state.flags):  # interned: few distinct sets
                for each in flags:
                    if not each.startswith("\\"):
                        spelling.setdefault(each.lower(), each)
            self._spelling = spelling
        if not register:
            return self._spelling.get(flag.lower(), flag)
        return self._spelling.setdefault(flag.lower(), flag)

    def modseq_of(self, uid: int) -> int:
        return self._state.modseqs[self._position(uid)]

    def size_of(self, uid: int) -> int:
        """RFC822.SIZE without a query."""
        return self._state.sizes[self._position(uid)]

    def path(self, uid: int) -> str:
        i = self._position(uid)
        return os.path.join(self._directory, "cur", canonical_name(uid, self._state.uniques[i], self._state.sizes[i]))

    def claim_recent(self, uids: Iterable[int]) -> set[int]:
        claimed = self.peek_recent(uids)
        self._unclaimed -= claimed
        return claimed

    def peek_recent(self, uids: Iterable[int]) -> set[int]:
        """Which of ``uids`` are still \\Recent, without claiming them (EXAMINE)."""
        if not self._unclaimed:
            return set()  # the usual case: no need to look at each of ``uids``
        return self._unclaimed.intersection(uids)

    def count_recent(self) -> int:
        return len(self._unclaimed)

    def count_unseen(self) -> int:
        return sum(1 for flags in self._state.flags if "\\Seen" not in flags)

    def total_size(self) -> int:
        return sum(self._state.sizes)

    # -- operations (delegated to the account: index, disk, bus) --------------
    async def meta(self, uids: list[int], cached: bool = True) -> list[MessageMeta]:
        return await self._account.meta(self, uids, cached)

    async def previews(self, uids: list[int], compute: bool = True) -> dict[int, str | None]:
        return await self._account.previews(self, uids, compute)

    async def read(self, uid: int) -> bytes:
        """KeyError when ``uid`` is gone (also when expunged while being read)."""
        path = self.path(uid)
        try:
            return await self._account.workers.run(_read_file, path)
        except FileNotFoundError:
            raise KeyError(uid) from None

    async def store_flags(self, uids: list[int], mode: str, flags: tuple[str, ...], origin: object = None,
                          unchanged_since: int | None = None, allowed=None) -> list[tuple[int, frozenset[str], int]]:
        return await self._account.store_flags(self, uids, mode, flags, origin, unchanged_since, allowed)

    async def annotations(self, uids: list[int], user: str) -> dict[int, list[tuple[str, str, bytes]]]:
        return await self._account.annotations(self, uids, user)

    async def store_annotations(self, uids: list[int], rows: list[tuple[str, str, bytes | None]], origin: object = None,
                                unchanged_since: int | None = None, max_entries: int | None = None):
        return await self._account.store_annotations(self, uids, rows, origin, unchanged_since, max_entries)

    async def expunge(self, uids: list[int] | None = None, origin: object = None) -> list[int]:
        return await self._account.expunge(self, uids, origin)

    async def search_header(self, name: str, value: str) -> set[int] | None:
        return await self._account.search_header(self, name, value)

    async def expunged_since(self, modseq: int) -> list[int]:
        """UIDs expunged with a MODSEQ above ``modseq`` (QRESYNC VANISHED (EARLIER))."""
        return await self._account.expunged_since(self, modseq)

    # -- changes, applied by the account after a commit (reactor thread) ------
    def apply_added(self, uids: list[int], flags: list[frozenset[str]], modseqs: list[int],
                    uniques: list[int], sizes: list[int], uid_next: int) -> None:
        state = self._state
        state.uids = state.uids + array("L", uids)
        state.modseqs.extend(modseqs)
        state.flags.extend(flags)
        state.uniques.extend(uniques)
        state.sizes.extend(sizes)
        self._unclaimed.update(uids)
        self.uid_next = max(self.uid_next, uid_next)
        if modseqs:
            self.highest_modseq = max(self.highest_modseq, max(modseqs))

    def apply_flags(self, changes: Iterable[tuple[int, frozenset[str], int]]) -> None:
        for uid, flags, modseq in changes:
            i = self._position(uid)
            self._state.flags[i] = flags
            self._state.modseqs[i] = modseq
            self.highest_modseq = max(self.highest_modseq, modseq)

    def apply_removed(self, uids: Iterable[int], modseq: int) -> None:
        uids = list(uids)
        for values in self.derived.values():
            for uid in uids:
                values.pop(uid, None)
        positions = sorted({self._position(uid) for uid in uids if uid in self})
        self._state.remove(positions)
        self._unclaimed.difference_update(uids)
        self.highest_modseq = max(self.highest_modseq, modseq)


def _without(seq, positions: list[int]):
    """A new sequence of the same type without the items at ``positions`` (sorted)."""
    result = seq[:0]
    start = 0
    for i in positions:
        result.extend(seq[start:i])
        start = i + 1
    result.extend(seq[start:])
    return result


def _read_file(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read()
