"""SQL access to one user's index (DESIGN §4).

Owns every SQL statement the store runs against ``index.sqlite3`` (schema in
``schema.py``) and the derivation of the cached columns from message bytes
(via ``cpmstore.mime.analysis``). The index is the truth for folders, UIDs,
flags and MODSEQ (RFC 7162 §3.1: one counter per user, so values grow across
folders). It never touches message files. Callers run it in a worker
thread, one operation at a time per user, each write inside
``transaction()``; the one exception is a small write that needs no sync
with fsync = "optimized", which may commit on the reactor thread inside
``on_this_thread()`` (DESIGN §4): a write into SQLite's WAL in the page
cache, which gives way to a store thread (``NeedsThread``) rather than wait
for a lock or a sync, and leaves its checkpoints to the store threads.
"""

from __future__ import annotations

import os
import sqlite3
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Iterator, Sequence
from urllib.request import pathname2url

from twisted.logger import Logger

from ..mime.analysis import Analysis
from .interfaces import MailboxInfo
from .schema import CPM_FIELDS, connect

log = Logger()

# With fsync = "optimized", MODSEQs are handed out from a block recorded
# durably ahead of them ("modseq_reserved" in settings): a power cut may lose
# the last unsynced commits, and the counter must never go back below a value
# a client has seen (RFC 7162 §3.1.1), so a reopened index starts above the
# block. One synced commit per this many MODSEQs.
MODSEQ_RESERVE = 100_000

# With fsync = "optimized", SQLite checkpoints no WAL by itself (a
# checkpoint syncs, and a commit on the reactor thread must not): a store
# thread checkpoints after this many commits or changed rows, about SQLite's
# own 1,000 pages.
CHECKPOINT_COMMITS = 250
CHECKPOINT_ROWS = 4_000
# How long a store thread's BEGIN waits for another connection's write lock
# (Python's default); a commit on the reactor thread waits for none.
BUSY_TIMEOUT_MS = 5_000

# Rows fetched per statement when reading many UIDs (well below SQLite's
# variable limit, large enough that a 1:* FETCH is a handful of queries).
CHUNK = 500
_CACHE_COLUMNS = "envelope, body, bodystructure, header"
_MAILBOX_COLUMNS = (
    "m.id, m.name, m.uid_validity, m.uid_next, m.highest_modseq, "
    "EXISTS (SELECT 1 FROM subscriptions s WHERE s.name = m.name), m.special_use"
)


def _has_deleted(flags_sql: str) -> str:
    """SQL: the flags text ``flags_sql`` holds \\Deleted."""
    return f"instr(' ' || {flags_sql} || ' ', ' \\Deleted ') > 0"


def deleted_stamp(when: datetime | None = None) -> str:
    """A ``deleted_at`` value: UTC with microseconds always written, so that
    comparing the texts compares the times (schema ``_V5``)."""
    return (when or datetime.now(timezone.utc)).astimezone(timezone.utc).isoformat(timespec="microseconds")


class NeedsThread(Exception):
    """A write tried on the reactor thread needs what only a store thread
    may do (a sync, or waiting for another connection's lock). It was rolled
    back; run it again in a store thread."""


@dataclass(frozen=True, slots=True)
class NewRow:
    uid: int
    filename: str
    flags: str
    modseq: int
    size: int
    internaldate: datetime
    cache: Analysis  # what APPEND derived from the bytes once
    savedate: datetime | None = None  # RFC 8514: when saved into this folder


def _mailbox_info(row: Sequence) -> MailboxInfo:
    return MailboxInfo(row[0], row[1], row[2], row[3], row[4], bool(row[5]), row[6])


class Index:
    def __init__(self, path: str, connection: sqlite3.Connection | None = None, relaxed: bool = False) -> None:
        self.path = path
        self.connection: sqlite3.Connection = connection if connection is not None else connect(path)
        # relaxed (fsync = "optimized"): a transaction opened with durable=False
        # commits without a sync of the WAL (SQLite's synchronous=NORMAL: it
        # survives a crash of the process, and a power cut may lose it); a
        # durable one is synced before it returns, as with synchronous=FULL.
        self.relaxed = False
        self._reserved = 0  # the durable "modseq_reserved" (relaxed only)
        self._reserving = 0  # a larger one written by the open transaction
        self._sync = False  # the open transaction must be synced
        self.modseq_reserve = MODSEQ_RESERVE
        self._here = False  # inside on_this_thread()
        self._wal_fd: int | None = None  # the WAL, kept open for _sync_wal
        # Since the last checkpoint (relaxed only): commits, and total_changes then.
        self._commits = 0
        self._changes_checkpointed = 0
        if relaxed:
            self.relax()

    @classmethod
    def open_readonly(cls, path: str) -> "Index":
        """For checks with the server stopped: no migration, no write."""
        uri = "file:" + pathname2url(os.path.abspath(path)) + "?mode=ro"
        return cls(path, sqlite3.connect(uri, uri=True, check_same_thread=False))

    def close(self) -> None:
        if self._wal_fd is not None:
            os.close(self._wal_fd)
            self._wal_fd = None
        self.connection.close()

    def relax(self) -> None:
        """Commit lightly from now on (see ``__init__``)."""
        self.connection.execute("PRAGMA synchronous=NORMAL")
        self.connection.execute("PRAGMA wal_autocheckpoint=0")  # ours: see CHECKPOINT_COMMITS
        self.relaxed = True
        self._reserved = self._setting("modseq_reserved") or 0
        self._changes_checkpointed = self.connection.total_changes

    @property
    def modseq_reserved(self) -> int:
        """The end of the synced block of MODSEQs (relaxed only; 0 before one)."""
        return self._reserved

    @contextmanager
    def transaction(self, durable: bool = True) -> Iterator[None]:
        """One write. ``durable=False``: a change the client may lose to a power
        cut with fsync = "optimized" (flags, expunges, annotations, METADATA,
        subscriptions: never a message); every other commit is synced."""
        if self._here:
            self._begin_here()
        else:
            self.connection.execute("BEGIN IMMEDIATE")
        self._sync = durable
        try:
            yield
            if self._here and self._sync:
                raise NeedsThread("this commit must be synced")
            self.connection.execute("COMMIT")
        except BaseException:
            self._reserving = 0
            # A failed COMMIT leaves the transaction open: end it either way.
            if self.connection.in_transaction:
                self.connection.execute("ROLLBACK")
            raise
        if self.relaxed and self._sync:
            self._sync_wal()
        if self._reserving:
            self._reserved, self._reserving = self._reserving, 0
        if self.relaxed:
            self._commits += 1
            if not self._here and self.checkpoint_due:
                self._checkpoint_after_commit()

    def _checkpoint_after_commit(self) -> None:
        # The commit stands, whatever happens here: a checkpoint that fails
        # only leaves the WAL longer, and must not pass for a failed write
        # (an APPEND would remove the files of the messages it committed).
        try:
            self.checkpoint()
        except (sqlite3.Error, OSError) as e:
            log.warn("Checkpoint of {path} failed, tried again later: {error}", path=self.path, error=str(e))

    @contextmanager
    def on_this_thread(self) -> Iterator[None]:
        """Transactions opened inside run on the calling (reactor) thread:
        only light ones (durable=False, fsync = "optimized"). One that would
        need a sync or wait for a lock raises ``NeedsThread``, rolled back."""
        if not self.relaxed:
            raise NeedsThread("every commit of this index is synced")
        self._here = True
        try:
            yield
        finally:
            self._here = False

    def _begin_here(self) -> None:
        self.connection.execute("PRAGMA busy_timeout=0")
        try:
            self.connection.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as e:
            if e.sqlite_errorcode == sqlite3.SQLITE_BUSY:
                raise NeedsThread("another connection holds the write lock") from None
            raise
        finally:
            self.connection.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")

    @property
    def checkpoint_due(self) -> bool:
        """Whether the WAL has grown enough to be checkpointed (relaxed only)."""
        return (self._commits >= CHECKPOINT_COMMITS
                or self.connection.total_changes - self._changes_checkpointed >= CHECKPOINT_ROWS)

    def checkpoint(self) -> None:
        """Copy the WAL's commits into the database file (PASSIVE: never waits
        for a reader), so that the WAL restarts from its beginning. It syncs:
        a store thread only."""
        self.connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        self._commits = 0
        self._changes_checkpointed = self.connection.total_changes

    def _sync_wal(self) -> None:
        # SQLite refuses to change the synchronous level inside a transaction,
        # and whether this one needs the sync is known only once it reserved
        # its MODSEQs; so the sync is ours, after the COMMIT wrote its frames:
        # what synchronous=FULL does at that point.
        # The file stays while the connection is open (SQLite reuses it from
        # its start after a checkpoint and removes it at close), so it is
        # opened once: each call here is a GIL hand-over in a busy process.
        if self._wal_fd is None:
            try:
                self._wal_fd = os.open(self.path + "-wal", os.O_RDONLY)
            except FileNotFoundError:
                return  # none while the connection is open in WAL mode; gone, its frames are in the synced database
        os.fdatasync(self._wal_fd)

    def skip_reserved_modseqs(self) -> None:
        """At open: continue above the last reserved block, which covers every
        MODSEQ a client may have seen before the index lost unsynced commits."""
        reserved = self._setting("modseq_reserved")
        if reserved is not None and reserved > self.modseq_counter():
            with self.transaction():
                self.set_modseq_floor(reserved)

    def _one(self, sql: str, args: Sequence = ()) -> tuple | None:
        return self.connection.execute(sql, args).fetchone()

    def _setting(self, key: str) -> int | None:
        row = self._one("SELECT value FROM settings WHERE key = ?", (key,))
        return None if row is None else row[0]

    def _set_setting(self, key: str, value: int) -> None:
        self.connection.execute("INSERT OR REPLACE INTO settings (key, value) VALUES (?, ?)", (key, value))

    # -- counters ----------------------------------------------------------
    def next_modseqs(self, count: int = 1) -> int:
        """Reserve ``count`` MODSEQs; returns the first (they are consecutive)."""
        last = self._one("UPDATE modseq SET value = value + ? WHERE id = 1 RETURNING value", (count,))[0]
        if self.relaxed and last > max(self._reserved, self._reserving):
            self._reserving = last + self.modseq_reserve
            self._set_setting("modseq_reserved", self._reserving)
            self._sync = True
        return last - count + 1

    def modseq_counter(self) -> int:
        """The last MODSEQ handed out (the next change gets a higher one)."""
        return self._one("SELECT value FROM modseq WHERE id = 1")[0]

    def set_modseq_floor(self, value: int) -> None:
        self.connection.execute("UPDATE modseq SET value = max(value, ?) WHERE id = 1", (value,))

    def renumber_modseqs(self, floor: int) -> None:
        """Give every message a new MODSEQ above ``floor`` (and every folder
        its HIGHESTMODSEQ), in UID order: after a restore from an older copy,
        no client's cached state may look current (RFC 7162 §3.1.2)."""
        self.set_modseq_floor(floor)
        start = self.modseq_counter()
        self.connection.execute(
            "UPDATE messages SET modseq = ? + ranked.n FROM (SELECT rowid AS id, ROW_NUMBER() OVER"
            " (ORDER BY mailbox_id, uid) AS n FROM messages) AS ranked WHERE messages.rowid = ranked.id",
            (start,))
        count = self._one("SELECT COUNT(*) FROM messages")[0]
        self.connection.execute("UPDATE modseq SET value = ? WHERE id = 1", (start + count + 1,))
        self.connection.execute(
            "UPDATE mailboxes SET highest_modseq = max(?, coalesce((SELECT MAX(modseq) FROM messages"
            " WHERE messages.mailbox_id = mailboxes.id), 0))", (start + count + 1,))

    def new_uid_validity(self) -> int:
        """Time-based, and above every UIDVALIDITY this user ever had, so a
        re-created folder never repeats an old one (RFC 3501 §2.3.1.1)."""
        value = max(int(time.time()), (self._setting("last_uid_validity") or 0) + 1)
        self._set_setting("last_uid_validity", value)
        return value

    def note_uid_validity(self, value: int) -> None:
        if (self._setting("last_uid_validity") or 0) < value:
            self._set_setting("last_uid_validity", value)

    # -- folders -----------------------------------------------------------
    def mailboxes(self) -> list[MailboxInfo]:
        rows = self.connection.execute(f"SELECT {_MAILBOX_COLUMNS} FROM mailboxes m ORDER BY m.name")
        return [_mailbox_info(row) for row in rows]

    def mailbox(self, name: str) -> MailboxInfo | None:
        row = self._one(f"SELECT {_MAILBOX_COLUMNS} FROM mailboxes m WHERE m.name = ?", (name,))
        return _mailbox_info(row) if row else None

    def mailbox_by_id(self, mailbox_id: int) -> MailboxInfo | None:
        row = self._one(f"SELECT {_MAILBOX_COLUMNS} FROM mailboxes m WHERE m.id = ?", (mailbox_id,))
        return _mailbox_info(row) if row else None

    def subtree(self, root: str) -> list[MailboxInfo]:
        """``root`` and every folder below it."""
        rows = self.connection.execute(
            f"SELECT {_MAILBOX_COLUMNS} FROM mailboxes m WHERE m.name = ? OR substr(m.name, 1, ?) = ?",
            (root, len(root) + 1, root + "/"),
        )
        return [_mailbox_info(row) for row in rows]

    def insert_mailbox(
        self, name: str, uid_validity: int, highest_modseq: int,
        special_use: str | None = None, mailbox_id: int | None = None, uid_next: int = 1,
    ) -> int:
        cursor = self.connection.execute(
            "INSERT INTO mailboxes (id, name, uid_validity, uid_next, highest_modseq, special_use) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (mailbox_id, name, uid_validity, uid_next, highest_modseq, special_use),
        )
        return cursor.lastrowid

    def rename_mailbox(self, mailbox_id: int, name: str) -> None:
        self.connection.execute("UPDATE mailboxes SET name = ? WHERE id = ?", (name, mailbox_id))

    def delete_mailbox(self, mailbox_id: int) -> None:
        for table in ("messages", "expunged", "expunge_floor", "acl", "metadata", "urlauth_keys", "annotations"):
            self.connection.execute(f"DELETE FROM {table} WHERE mailbox_id = ?", (mailbox_id,))
        self.connection.execute("DELETE FROM mailboxes WHERE id = ?", (mailbox_id,))

    def set_counters(self, mailbox_id: int, uid_next: int | None = None, highest_modseq: int | None = None) -> None:
        if uid_next is not None and highest_modseq is not None:
            self.connection.execute(
                "UPDATE mailboxes SET uid_next = max(uid_next, ?), highest_modseq = max(highest_modseq, ?)"
                " WHERE id = ?", (uid_next, highest_modseq, mailbox_id))
            return
        if uid_next is not None:
            self.connection.execute(
                "UPDATE mailboxes SET uid_next = max(uid_next, ?) WHERE id = ?", (uid_next, mailbox_id)
            )
        if highest_modseq is not None:
            self.connection.execute(
                "UPDATE mailboxes SET highest_modseq = max(highest_modseq, ?) WHERE id = ?",
                (highest_modseq, mailbox_id),
            )

    def set_identity(self, mailbox_id: int, uid_validity: int, uid_next: int, highest_modseq: int) -> None:
        """Give an empty folder the UIDVALIDITY, UIDNEXT and HIGHESTMODSEQ it
        had on another server (a migration), forgetting its own expunge
        history: UIDs of the old UIDVALIDITY mean nothing under the new one."""
        self.connection.execute(
            "UPDATE mailboxes SET uid_validity = ?, uid_next = ?, highest_modseq = ? WHERE id = ?",
            (uid_validity, uid_next, highest_modseq, mailbox_id),
        )
        self.connection.execute("DELETE FROM expunged WHERE mailbox_id = ?", (mailbox_id,))
        self.connection.execute("DELETE FROM expunge_floor WHERE mailbox_id = ?", (mailbox_id,))

    def record_expunged(self, mailbox_id: int, rows: list[tuple[int, int]]) -> None:
        """Remember (uid, modseq) each as expunged, with no message row to remove
        (UIDs that were gone before a migration), for VANISHED (EARLIER)."""
        self.connection.executemany(
            "INSERT OR REPLACE INTO expunged (mailbox_id, uid, modseq) VALUES (?, ?, ?)",
            [(mailbox_id, uid, modseq) for uid, modseq in rows],
        )

    # -- subscriptions -------------------------------------------------------
    def subscriptions(self) -> list[str]:
        return [row[0] for row in self.connection.execute("SELECT name FROM subscriptions ORDER BY name")]

    def set_subscribed(self, name: str, subscribed: bool) -> bool:
        """Returns whether anything changed."""
        if subscribed:
            sql = "INSERT OR IGNORE INTO subscriptions (name) VALUES (?)"
        else:
            sql = "DELETE FROM subscriptions WHERE name = ?"
        return self.connection.execute(sql, (name,)).rowcount > 0

    # -- access control (RFC 4314) and metadata (RFC 5464) ---------------------
    def acls(self) -> dict[int, dict[str, str]]:
        """Every folder's stored ACL: mailbox id -> identifier -> rights."""
        result: dict[int, dict[str, str]] = {}
        for mailbox_id, identifier, rights in self.connection.execute("SELECT mailbox_id, identifier, rights FROM acl ORDER BY rowid"):
            result.setdefault(mailbox_id, {})[identifier] = rights
        return result

    def acl(self, mailbox_id: int) -> dict[str, str]:
        rows = self.connection.execute("SELECT identifier, rights FROM acl WHERE mailbox_id = ? ORDER BY rowid", (mailbox_id,))
        return dict(rows.fetchall())

    def set_acl(self, mailbox_id: int, acl: dict[str, str]) -> None:
        self.connection.execute("DELETE FROM acl WHERE mailbox_id = ?", (mailbox_id,))
        self.connection.executemany(
            "INSERT INTO acl (mailbox_id, identifier, rights) VALUES (?, ?, ?)",
            [(mailbox_id, identifier, rights) for identifier, rights in acl.items()],
        )

    def metadata(self, mailbox_id: int, owners: tuple[str, ...]) -> dict[tuple[str, str], bytes]:
        """(owner, entry) -> value of one folder's (or the server's, id 0) entries of ``owners``."""
        marks = ", ".join("?" * len(owners))
        rows = self.connection.execute(
            f"SELECT owner, entry, value FROM metadata WHERE mailbox_id = ? AND owner IN ({marks})",
            (mailbox_id, *owners),
        )
        return {(owner, entry): bytes(value) for owner, entry, value in rows}

    def set_metadata(self, mailbox_id: int, changes: list[tuple[str, str, bytes | None]]) -> None:
        """(owner, entry, value) each; a None value removes the entry."""
        for owner, entry, value in changes:
            if value is None:
                self.connection.execute(
                    "DELETE FROM metadata WHERE mailbox_id = ? AND owner = ? AND entry = ?", (mailbox_id, owner, entry)
                )
            else:
                self.connection.execute(
                    "INSERT OR REPLACE INTO metadata (mailbox_id, owner, entry, value) VALUES (?, ?, ?, ?)",
                    (mailbox_id, owner, entry, value),
                )

    def metadata_count(self, mailbox_id: int, owner: str) -> int:
        return self._one("SELECT count(*) FROM metadata WHERE mailbox_id = ? AND owner = ?", (mailbox_id, owner))[0]

    # -- URLAUTH mailbox access keys (RFC 4467 §7) ---------------------------
    def urlauth_key(self, mailbox_id: int) -> bytes | None:
        row = self._one("SELECT key FROM urlauth_keys WHERE mailbox_id = ?", (mailbox_id,))
        return bytes(row[0]) if row else None

    def set_urlauth_key(self, mailbox_id: int, key: bytes) -> None:
        self.connection.execute("INSERT OR REPLACE INTO urlauth_keys (mailbox_id, key) VALUES (?, ?)", (mailbox_id, key))

    def delete_urlauth_keys(self, mailbox_id: int | None = None) -> None:
        """One folder's key, or every key when ``mailbox_id`` is None."""
        if mailbox_id is None:
            self.connection.execute("DELETE FROM urlauth_keys")
        else:
            self.connection.execute("DELETE FROM urlauth_keys WHERE mailbox_id = ?", (mailbox_id,))

    # -- messages ------------------------------------------------------------
    def load_state(self, mailbox_id: int) -> list[tuple[int, int, str, str]]:
        """(uid, modseq, flags, filename) of every message, by UID: the one bulk
        read behind an open folder (served by the ``messages_state`` index)."""
        return self.connection.execute(
            "SELECT uid, modseq, flags, filename FROM messages INDEXED BY messages_state "
            "WHERE mailbox_id = ? ORDER BY uid",
            (mailbox_id,),
        ).fetchall()

    def insert_messages(self, mailbox_id: int, rows: list[NewRow]) -> None:
        columns = ", ".join(CPM_FIELDS.values())
        marks = ", ".join("?" * len(CPM_FIELDS))
        stamp = deleted_stamp()  # added already \Deleted: the retention clock starts now
        self.connection.executemany(
            "INSERT INTO messages (mailbox_id, uid, modseq, flags, size, filename, internaldate, sent_date, "
            f"{_CACHE_COLUMNS}, {columns}, savedate, preview, deleted_at, kind) "
            f"VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, {marks}, ?, ?, ?, ?)",
            [
                (
                    mailbox_id, r.uid, r.modseq, r.flags, r.size, r.filename, r.internaldate.isoformat(),
                    r.cache.sent_date.isoformat() if r.cache.sent_date else None,
                    r.cache.envelope, r.cache.body, r.cache.bodystructure, r.cache.header,
                    *(r.cache.fields.get(name) for name in CPM_FIELDS),
                    r.savedate.isoformat() if r.savedate else None, r.cache.preview,
                    stamp if "\\Deleted" in r.flags.split() else None, r.cache.kind,
                )
                for r in rows
            ],
        )

    def copy_rows(self, source_id: int, target_id: int, copies: list[tuple[int, int, str, int]],
                  savedate: datetime | None = None) -> None:
        """Copy index rows (cached columns included, inside SQLite) for
        (source uid, target uid, target filename, modseq) each; the copies
        get their own ``savedate`` (RFC 8514 §3: the save into the target)."""
        kept = ", ".join(("flags", "size", "internaldate", "sent_date", _CACHE_COLUMNS, *CPM_FIELDS.values(),
                          "preview", "kind"))
        saved = savedate.isoformat() if savedate else None
        # A copy that arrives \Deleted starts its own retention clock in the target.
        stamp = deleted_stamp()
        self.connection.executemany(
            f"INSERT INTO messages (mailbox_id, uid, filename, modseq, savedate, deleted_at, {kept}) "
            f"SELECT ?, ?, ?, ?, ?, CASE WHEN {_has_deleted('flags')} THEN ? END, {kept} "
            "FROM messages WHERE mailbox_id = ? AND uid = ?",
            [(target_id, dst, filename, modseq, saved, stamp, source_id, src)
             for src, dst, filename, modseq in copies],
        )
        # Annotations belong to the message and travel with it (RFC 5257 §4.5).
        self.connection.executemany(
            "INSERT INTO annotations (mailbox_id, uid, owner, entry, value) "
            "SELECT ?, ?, owner, entry, value FROM annotations WHERE mailbox_id = ? AND uid = ?",
            [(target_id, dst, source_id, src) for src, dst, _filename, _modseq in copies],
        )

    def filenames(self, mailbox_id: int, uids: list[int]) -> dict[int, str]:
        found: dict[int, str] = {}
        for chunk, where, args in _uid_chunks(uids):
            rows = self.connection.execute(
                f"SELECT uid, filename FROM messages WHERE mailbox_id = ? AND {where}", (mailbox_id, *args)
            )
            found.update((uid, name) for uid, name in rows if uid in chunk)
        return found

    def remove_messages(self, mailbox_id: int, uids: list[int], modseq: int) -> None:
        """Delete rows and remember the UIDs as expunged at ``modseq`` (VANISHED)."""
        self.connection.executemany(
            "DELETE FROM messages WHERE mailbox_id = ? AND uid = ?", [(mailbox_id, uid) for uid in uids]
        )
        self.connection.executemany(
            "DELETE FROM annotations WHERE mailbox_id = ? AND uid = ?", [(mailbox_id, uid) for uid in uids]
        )
        self.connection.executemany(
            "INSERT OR REPLACE INTO expunged (mailbox_id, uid, modseq) VALUES (?, ?, ?)",
            [(mailbox_id, uid, modseq) for uid in uids],
        )

    def set_flags(self, mailbox_id: int, changes: list[tuple[int, str, int]]) -> None:
        """(uid, flags text, modseq) each. ``deleted_at`` follows \\Deleted in the
        same statement: set when it is added, kept while it stays, cleared
        when it goes (``flags`` on the right is the row's value before)."""
        stamp = deleted_stamp()
        self.connection.executemany(
            "UPDATE messages SET flags = ?1, modseq = ?2, deleted_at = CASE "
            f"WHEN NOT ({_has_deleted('?1')}) THEN NULL "
            f"WHEN {_has_deleted('flags')} THEN coalesce(deleted_at, ?5) ELSE ?5 END "
            "WHERE mailbox_id = ?3 AND uid = ?4",
            [(flags, modseq, mailbox_id, uid, stamp) for uid, flags, modseq in changes],
        )

    def deleted_before(self, stamp: str, limit: int | None = None) -> list[tuple[str, list[int]]]:
        """(folder name, UIDs) of the messages \\Deleted at or before ``stamp``
        (a ``deleted_stamp``), by folder name and UID; at most ``limit`` messages."""
        rows = self.connection.execute(
            "SELECT b.name, m.uid FROM messages m JOIN mailboxes b ON b.id = m.mailbox_id "
            f"WHERE m.deleted_at IS NOT NULL AND m.deleted_at <= ? AND {_has_deleted('m.flags')} "
            "ORDER BY b.name, m.uid LIMIT ?",
            (stamp, -1 if limit is None else limit),
        )
        found: dict[str, list[int]] = {}
        for name, uid in rows:
            found.setdefault(name, []).append(uid)
        return list(found.items())

    def deleted_at_or_before(self, mailbox_id: int, uids: list[int], stamp: str) -> list[int]:
        """Those of ``uids`` whose \\Deleted was set at or before ``stamp``, ascending."""
        found: list[int] = []
        for chunk, where, args in _uid_chunks(uids):
            rows = self.connection.execute(
                f"SELECT uid FROM messages WHERE mailbox_id = ? AND {where} AND deleted_at IS NOT NULL "
                "AND deleted_at <= ?", (mailbox_id, *args, stamp))
            found.extend(uid for (uid,) in rows if uid in chunk)
        return sorted(found)

    def usage(self) -> tuple[int, int]:
        """(messages, bytes) in every folder: what the quota counts."""
        row = self._one("SELECT count(*), coalesce(sum(size), 0) FROM messages")
        return row[0], row[1]

    def highest_uid(self, mailbox_id: int) -> int:
        return self._one("SELECT coalesce(max(uid), 0) FROM messages WHERE mailbox_id = ?", (mailbox_id,))[0]

    def keyword_spellings(self, mailbox_id: int) -> dict[str, str]:
        """Lower-case keyword -> the spelling stored in the folder."""
        spelling: dict[str, str] = {}
        for (text,) in self.connection.execute("SELECT DISTINCT flags FROM messages WHERE mailbox_id = ?", (mailbox_id,)):
            for flag in text.split():
                if not flag.startswith("\\"):
                    spelling.setdefault(flag.lower(), flag)
        return spelling

    def set_modseqs(self, mailbox_id: int, changes: list[tuple[int, int]]) -> None:
        self.connection.executemany(
            "UPDATE messages SET modseq = ? WHERE mailbox_id = ? AND uid = ?",
            [(modseq, mailbox_id, uid) for uid, modseq in changes],
        )

    def annotations(self, mailbox_id: int, uids: list[int], owners: tuple[str, ...]) -> list[tuple[int, str, str, bytes]]:
        """(uid, owner, entry, value) of ``uids`` for ``owners``."""
        marks = ", ".join("?" * len(owners))
        result = []
        for chunk, where, args in _uid_chunks(uids):
            rows = self.connection.execute(
                f"SELECT uid, owner, entry, value FROM annotations WHERE mailbox_id = ? AND {where} "
                f"AND owner IN ({marks}) ORDER BY uid, entry",
                (mailbox_id, *args, *owners),
            )
            result.extend((uid, owner, entry, bytes(value)) for uid, owner, entry, value in rows if uid in chunk)
        return result

    def set_annotations(self, mailbox_id: int, changes: list[tuple[int, str, str, bytes | None]]) -> None:
        """(uid, owner, entry, value) each; None removes."""
        for uid, owner, entry, value in changes:
            if value is None:
                self.connection.execute(
                    "DELETE FROM annotations WHERE mailbox_id = ? AND uid = ? AND owner = ? AND entry = ?",
                    (mailbox_id, uid, owner, entry),
                )
            else:
                self.connection.execute(
                    "INSERT OR REPLACE INTO annotations (mailbox_id, uid, owner, entry, value) VALUES (?, ?, ?, ?, ?)",
                    (mailbox_id, uid, owner, entry, value),
                )

    def meta_rows(self, mailbox_id: int, uids: list[int], cached: bool) -> list[tuple]:
        """(uid, size, internaldate, sent_date[, envelope, body, bodystructure, header], savedate)
        for those of ``uids`` present, one statement per chunk."""
        columns = "uid, size, internaldate, sent_date" + (f", {_CACHE_COLUMNS}" if cached else "") + ", savedate"
        result: list[tuple] = []
        for chunk, where, args in _uid_chunks(uids):
            rows = self.connection.execute(
                f"SELECT {columns} FROM messages WHERE mailbox_id = ? AND {where}", (mailbox_id, *args)
            )
            result.extend(row for row in rows if row[0] in chunk)
        return result

    def kinds(self, mailbox_id: int, uids: list[int]) -> dict[int, str]:
        """UID -> CPM object kind, for the rows that have one."""
        found: dict[int, str] = {}
        for chunk, where, args in _uid_chunks(uids):
            rows = self.connection.execute(
                f"SELECT uid, kind FROM messages WHERE mailbox_id = ? AND {where} AND kind IS NOT NULL",
                (mailbox_id, *args))
            found.update((uid, kind) for uid, kind in rows if uid in chunk)
        return found

    def previews(self, mailbox_id: int, uids: list[int]) -> dict[int, str | None]:
        """uid -> stored PREVIEW text (None: not computed yet) of those of ``uids`` present."""
        found: dict[int, str | None] = {}
        for chunk, where, args in _uid_chunks(uids):
            rows = self.connection.execute(
                f"SELECT uid, preview FROM messages WHERE mailbox_id = ? AND {where}", (mailbox_id, *args)
            )
            found.update((uid, text) for uid, text in rows if uid in chunk)
        return found

    def set_previews(self, mailbox_id: int, previews: dict[int, str]) -> None:
        """Store previews computed after the APPEND (a cache fill: no MODSEQ)."""
        self.connection.executemany(
            "UPDATE messages SET preview = ? WHERE mailbox_id = ? AND uid = ?",
            [(text, mailbox_id, uid) for uid, text in previews.items()],
        )

    def status_counts(self, mailbox_id: int) -> tuple[int, int, int]:
        """(messages, unseen, total size) by aggregate query, no rows loaded."""
        row = self._one(
            "SELECT count(*), coalesce(sum(instr(' ' || flags || ' ', ' \\Seen ') = 0), 0), "
            "coalesce(sum(size), 0) FROM messages WHERE mailbox_id = ?",
            (mailbox_id,),
        )
        return row[0], row[1], row[2]

    def search_field(self, mailbox_id: int, column: str, value: str) -> set[int]:
        if column not in CPM_FIELDS.values():
            raise ValueError(column)
        rows = self.connection.execute(
            f"SELECT uid FROM messages WHERE mailbox_id = ? AND {column} IS NOT NULL "
            f"AND instr(lower({column}), lower(?)) > 0",
            (mailbox_id, value),
        )
        return {row[0] for row in rows}

    def expunged_since(self, mailbox_id: int, modseq: int) -> list[int]:
        rows = self.connection.execute(
            "SELECT uid FROM expunged WHERE mailbox_id = ? AND modseq > ? ORDER BY uid", (mailbox_id, modseq)
        )
        return [row[0] for row in rows]

    def expunge_history_since(self, mailbox_id: int, modseq: int) -> list[int] | None:
        """UIDs expunged with a MODSEQ above ``modseq``, ascending; None when
        the history was pruned past ``modseq`` and cannot say."""
        floor = self._one("SELECT modseq FROM expunge_floor WHERE mailbox_id = ?", (mailbox_id,))
        if floor is not None and modseq < floor[0]:
            return None
        return self.expunged_since(mailbox_id, modseq)

    def prune_expunged(self, keep: int) -> int:
        """Forget all but the newest ``keep`` expunges of each folder, raising
        its floor to the newest MODSEQ forgotten; returns rows removed.
        RFC 7162 §3.2.5.2 lets a server forget: a client older than the floor
        is answered from the UIDs that are absent instead."""
        removed = 0
        with self.transaction():
            crowded = self.connection.execute(
                "SELECT mailbox_id FROM expunged GROUP BY mailbox_id HAVING COUNT(*) > ?", (keep,)).fetchall()
            for (mailbox_id,) in crowded:
                cut = self._one("SELECT modseq FROM expunged WHERE mailbox_id = ? ORDER BY modseq DESC"
                                " LIMIT 1 OFFSET ?", (mailbox_id, keep))[0]
                removed += self.connection.execute(
                    "DELETE FROM expunged WHERE mailbox_id = ? AND modseq <= ?", (mailbox_id, cut)).rowcount
                self.connection.execute(
                    "INSERT INTO expunge_floor (mailbox_id, modseq) VALUES (?, ?) ON CONFLICT (mailbox_id)"
                    " DO UPDATE SET modseq = max(modseq, excluded.modseq)", (mailbox_id, cut))
        return removed

    def expunged_uids(self, mailbox_id: int) -> set[int]:
        return {row[0] for row in self.connection.execute("SELECT uid FROM expunged WHERE mailbox_id = ?", (mailbox_id,))}


def _uid_chunks(uids: list[int]) -> Iterator[tuple[set[int], str, tuple[int, ...]]]:
    """Split ``uids`` into chunks, each a range query when contiguous."""
    ordered = sorted(set(uids))
    for start in range(0, len(ordered), CHUNK):
        part = ordered[start:start + CHUNK]
        if part[-1] - part[0] + 1 == len(part):
            yield set(part), "uid BETWEEN ? AND ?", (part[0], part[-1])
        else:
            yield set(part), f"uid IN ({', '.join('?' * len(part))})", tuple(part)
