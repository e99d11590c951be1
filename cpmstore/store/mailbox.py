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

The bytes of small messages added or read lately are kept too, in one
bounded cache for the process (``BODIES``), so that the FETCH of a message
just delivered (a device syncing what it was told of) is answered without a
trip to a worker thread. Message files never change (DESIGN §4): an entry is
right for as long as its UID is in the folder, and goes when it is expunged.
"""

from __future__ import annotations

import itertools
import os
from array import array
from bisect import bisect_left
from collections import OrderedDict
from typing import TYPE_CHECKING, Iterable, Sequence

from zope.interface import implementer

from .interfaces import IMailbox, MailboxInfo, MessageMeta
from .maildir import canonical_name

if TYPE_CHECKING:
    from .account import Account


# The body cache's bounds: bytes in all (per process), and the largest
# message kept (a media object is read from its file each time, as before).
BODY_CACHE_BYTES = 4 << 20
BODY_CACHE_LARGEST = 64 << 10


class BodyCache:
    """Bytes of small message files by (folder token, UID), the least
    recently used dropped first once ``budget`` bytes are held. Used on the
    reactor thread only."""

    def __init__(self, budget: int = BODY_CACHE_BYTES, largest: int = BODY_CACHE_LARGEST) -> None:
        self.budget = budget
        self.largest = largest
        self.held = 0
        self._entries: OrderedDict[tuple[int, int], bytes] = OrderedDict()

    def get(self, key: tuple[int, int]) -> bytes | None:
        data = self._entries.get(key)
        if data is not None:
            self._entries.move_to_end(key)
        return data

    def put(self, key: tuple[int, int], data: bytes) -> None:
        if len(data) > self.largest or len(data) > self.budget:
            return
        if type(data) is not bytes:
            data = bytes(data)  # never a buffer that could change under the cache
        self.discard(key)
        self._entries[key] = data
        self.held += len(data)
        while self.held > self.budget:
            _key, dropped = self._entries.popitem(last=False)
            self.held -= len(dropped)

    def discard(self, key: tuple[int, int]) -> None:
        data = self._entries.pop(key, None)
        if data is not None:
            self.held -= len(data)

    def __len__(self) -> int:
        return len(self._entries)


BODIES = BodyCache()
_tokens = itertools.count(1)


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
        # Messages without \Seen, counted once and then kept current by the
        # apply_* methods: STATUS of a big open folder costs no walk.
        self._unseen: int | None = None
        # UIDs with \Deleted, found once and then kept current the same way:
        # EXPUNGE of a big folder walks no flag column.
        self._deleted: set[int] | None = None
        self.id = info.id
        self.name = info.name
        self.uid_validity = info.uid_validity
        self.uid_next = info.uid_next
        self.highest_modseq = info.highest_modseq
        self.deleted = False
        self._spelling: dict[str, str] | None = None
        # This folder object's part of ``BODIES`` (never reused, unlike ids).
        self._token = next(_tokens)
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

    def current(self, uids: list[int]) -> list[tuple[int, frozenset[str], int]]:
        """(uid, flags, modseq) of each of ``uids`` (ascending) still here, by
        one ``positions`` walk rather than a bisect per message and column."""
        if not uids:
            return []
        flags, modseqs = self._state.flags, self._state.modseqs
        return [(uid, flags[i], modseqs[i]) for uid, i in zip(uids, self.positions(uids)) if i >= 0]

    def deleted_uids(self, uids: list[int] | None = None) -> list[int]:
        """Those of ``uids`` (ascending; every message when None) flagged
        \\Deleted, ascending: what EXPUNGE removes. Found once by a walk of the
        flag column, then kept current by the apply_* methods."""
        if self._deleted is None:
            self._deleted = {uid for uid, flags in zip(self._state.uids, self._state.flags) if "\\Deleted" in flags}
        deleted = self._deleted
        return sorted(deleted) if uids is None else [uid for uid in uids if uid in deleted]

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

    def file_uniques(self, uids: list[int]) -> dict[int, int]:
        """The unique part of the file name of each of ``uids`` (ascending) still here."""
        uniques = self._state.uniques
        return {uid: uniques[i] for uid, i in zip(uids, self.positions(uids)) if i >= 0}

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
        if self._unseen is None:
            self._unseen = _unseen(self._state.flags)
        return self._unseen

    def total_size(self) -> int:
        return sum(self._state.sizes)

    # -- operations (delegated to the account: index, disk, bus) --------------
    async def meta(self, uids: list[int], cached: bool = True) -> list[MessageMeta]:
        return await self._account.meta(self, uids, cached)

    async def previews(self, uids: list[int], compute: bool = True) -> dict[int, str | None]:
        return await self._account.previews(self, uids, compute)

    def cached_body(self, uid: int) -> bytes | None:
        """The bytes of message ``uid`` if the body cache holds them (never
        for a folder deleted meanwhile: its files are gone, so is the answer)."""
        return None if self.deleted else BODIES.get((self._token, uid))

    def remember_body(self, uid: int, data: bytes) -> None:
        """Keep the bytes just read from message ``uid``'s file (if it is
        still here: an entry must never outlive its message)."""
        if uid in self:
            BODIES.put((self._token, uid), data)

    async def read(self, uid: int) -> bytes:
        """KeyError when ``uid`` is gone (also when expunged while being read)."""
        cached = self.cached_body(uid)
        if cached is not None:
            return cached
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

    async def search_texts(self, uids: list[int], keys: list[tuple[str, bool]]) -> list[set[int]]:
        return await self._account.search_texts(self, uids, keys)

    async def expunged_since(self, modseq: int) -> list[int]:
        """UIDs expunged with a MODSEQ above ``modseq`` (QRESYNC VANISHED (EARLIER))."""
        return await self._account.expunged_since(self, modseq)

    async def vanished_since(self, modseq: int, within: list[tuple[int, int]]) -> list[tuple[int, int]]:
        """What of the UID ranges ``within`` a client that knew the folder at
        ``modseq`` must hear as VANISHED (EARLIER), as ranges."""
        return await self._account.vanished_since(self, modseq, within)

    # -- changes, applied by the account after a commit (reactor thread) ------
    def apply_added(self, uids: list[int], flags: list[frozenset[str]], modseqs: list[int],
                    uniques: list[int], sizes: list[int], uid_next: int, bodies: Sequence[bytes] = ()) -> None:
        """``bodies``: the bytes written to the new files, when the caller has
        them (an APPEND), for the body cache."""
        for uid, data in zip(uids, bodies):
            BODIES.put((self._token, uid), data)
        state = self._state
        if self._unseen is not None:
            self._unseen += _unseen(flags)
        if self._deleted is not None:
            self._deleted.update(uid for uid, f in zip(uids, flags) if "\\Deleted" in f)
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
        # By UID (a stable sort: a UID changed twice keeps its last change), so
        # that one ``positions`` walk finds every message.
        changes = sorted(changes, key=_first)
        flags_col, modseq_col = self._state.flags, self._state.modseqs
        highest = self.highest_modseq
        for (uid, flags, modseq), i in zip(changes, self.positions([c[0] for c in changes])):
            if i < 0:
                raise KeyError(uid)
            if self._unseen is not None:
                self._unseen += ("\\Seen" in flags_col[i]) - ("\\Seen" in flags)
            if self._deleted is not None:
                if "\\Deleted" in flags:
                    self._deleted.add(uid)
                else:
                    self._deleted.discard(uid)
            flags_col[i] = flags
            modseq_col[i] = modseq
            if modseq > highest:
                highest = modseq
        self.highest_modseq = highest

    def apply_removed(self, uids: Iterable[int], modseq: int) -> None:
        uids = list(uids)
        for uid in uids:
            BODIES.discard((self._token, uid))
        for values in self.derived.values():
            for uid in uids:
                values.pop(uid, None)
        positions = sorted({self._position(uid) for uid in uids if uid in self})
        if self._unseen is not None:
            self._unseen -= _unseen(self._state.flags[i] for i in positions)
        self._state.remove(positions)
        if self._deleted is not None:
            self._deleted.difference_update(uids)
        self._unclaimed.difference_update(uids)
        self.highest_modseq = max(self.highest_modseq, modseq)


def _unseen(flag_sets: Iterable[frozenset[str]]) -> int:
    return sum(1 for flags in flag_sets if "\\Seen" not in flags)


def _first(item: tuple) -> object:
    return item[0]


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
