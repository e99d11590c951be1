"""The text index: what SEARCH TEXT and SEARCH BODY (RFC 3501 §6.4.4) look
in, kept per message, so that those searches open no message file.

Owns ``texts.sqlite3`` in the user's directory: for each message its header
key and body key (``mime.text.search_keys``, i;unicode-casemap, as UTF-8),
by folder id and UID, with the unique part of the message file's name. A
search is one scan of a folder's rows with ``instr()`` running in SQLite's C,
never a MIME parse; a row counts only while its unique still names the
message's file, so a row can never describe other bytes than the file has.

It is derived data: every row can be computed again from its file. So it is
written without fsync (WAL, ``synchronous=NORMAL``: a power cut may lose the
last rows, never corrupt the file), it is not in the index backups, and
nothing here may fail a client's command. A missing row (lost, or for a
message stored before this index existed, imported or restored) is computed
by the search that needs it, which then writes it; a file SQLite cannot read
is logged, removed and begun anew. Bump ``FORMAT`` when ``search_keys``
changes what it derives: an older file is then begun anew too.

Used from the user's queue, in a worker thread, like the index; never on the
reactor.
"""

from __future__ import annotations

import os
import sqlite3
from typing import Callable, Iterable, Iterator, TypeVar

from twisted.logger import Logger

TEXTS_FILE = "texts.sqlite3"
FORMAT = 1

# Rows read per fetchmany while scanning: bounded memory however big the folder.
_SCAN_BATCH = 2000
T = TypeVar("T")
log = Logger()

_SCHEMA = """
CREATE TABLE IF NOT EXISTS texts (
    mailbox_id INTEGER NOT NULL,
    uid INTEGER NOT NULL,
    file_unique INTEGER NOT NULL,   -- the message file this row was computed from
    header BLOB NOT NULL,           -- UTF-8 of the header key
    body BLOB NOT NULL,             -- UTF-8 of the body key
    PRIMARY KEY (mailbox_id, uid)
)
"""


def encode_key(text: str) -> bytes:
    """A key as stored and as searched for: UTF-8 is self-synchronizing, so
    one key's octets occur in another's exactly when its text does."""
    return text.encode("utf-8", "surrogatepass")


class TextIndex:
    def __init__(self, path: str) -> None:
        self.path = path
        self._connection: sqlite3.Connection | None = None

    # -- writing (best effort) --------------------------------------------------------
    def add(self, mailbox_id: int, rows: Iterable[tuple[int, int, str, str]]) -> None:
        """(uid, file unique, header key, body key) rows, replacing any for those UIDs."""
        rows = [(mailbox_id, uid, unique, encode_key(header), encode_key(body)) for uid, unique, header, body in rows]
        if rows:
            self._write("INSERT OR REPLACE INTO texts VALUES (?, ?, ?, ?, ?)", rows)

    def copy(self, source_id: int, target_id: int, copies: list[tuple[int, int, int, int]]) -> None:
        """(source UID, source file unique, target UID, target file unique)
        each: COPY and MOVE give the same bytes a new UID and file."""
        self._write(
            "INSERT OR REPLACE INTO texts SELECT ?, ?, ?, header, body FROM texts"
            " WHERE mailbox_id = ? AND uid = ? AND file_unique = ?",
            [(target_id, uid, unique, source_id, source_uid, source_unique)
             for source_uid, source_unique, uid, unique in copies])

    def remove(self, mailbox_id: int, uids: list[int]) -> None:
        self._write("DELETE FROM texts WHERE mailbox_id = ? AND uid = ?", [(mailbox_id, uid) for uid in uids])

    def drop(self, mailbox_id: int) -> None:
        """Every row of a deleted folder."""
        self._write("DELETE FROM texts WHERE mailbox_id = ?", [(mailbox_id,)])

    def _write(self, sql: str, rows: list[tuple]) -> None:
        def write(conn: sqlite3.Connection) -> None:
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.executemany(sql, rows)
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
        self._guarded(write, None)

    # -- reading ------------------------------------------------------------------------
    def scan(self, mailbox_id: int, lo: int, hi: int, keys: list[tuple[bytes, bool]]
             ) -> Iterator[tuple[int, int, tuple[int, ...]]] | None:
        """(uid, file unique, one 0/1 per key) for every row of the folder
        with ``lo <= uid <= hi``, in UID order; a key (its ``encode_key``
        octets, body only?) hits where it occurs in the body key, or, for
        TEXT, in the header key. None when the index cannot be read: the
        caller then works from the files."""
        hits = ", ".join("instr(body, ?) > 0" if body_only else "(instr(header, ?) > 0 OR instr(body, ?) > 0)"
                         for _key, body_only in keys)
        args: list[object] = []
        for key, body_only in keys:
            args.extend((key,) if body_only else (key, key))
        sql = f"SELECT uid, file_unique, {hits} FROM texts WHERE mailbox_id = ? AND uid BETWEEN ? AND ? ORDER BY uid"
        args.extend((mailbox_id, lo, hi))

        def query(conn: sqlite3.Connection) -> list[tuple]:
            # All rows now (in batches, each a short SQLite read): a row
            # iterator left open across the caller's work would keep the
            # read transaction, and the WAL could not be checkpointed.
            cursor = conn.execute(sql, args)
            out: list[tuple] = []
            while batch := cursor.fetchmany(_SCAN_BATCH):
                out.extend(batch)
            return out

        rows = self._guarded(query, None)
        if rows is None:
            return None
        return ((row[0], row[1], row[2:]) for row in rows)

    # -- the file --------------------------------------------------------------------------
    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def _guarded(self, work: Callable[[sqlite3.Connection], T], failed: T) -> T:
        """``work(connection)``, or ``failed`` after logging when SQLite
        fails: a text index error costs speed, never a command. A damaged
        file is removed, to be begun anew at the next use."""
        try:
            return work(self._open())
        except sqlite3.Error as e:
            damaged = not isinstance(e, sqlite3.OperationalError) or "malformed" in str(e)
            log.warn("Text index {path}: {error}{what}", path=self.path, error=str(e),
                     what="; starting it anew" if damaged else "")
            self.close()
            if damaged:
                self._remove()
            return failed

    def _open(self) -> sqlite3.Connection:
        if self._connection is None:
            conn = _connect(self.path)
            if conn.execute("PRAGMA user_version").fetchone()[0] != FORMAT:
                conn.close()
                self._remove()
                conn = _connect(self.path)
                conn.execute(f"PRAGMA user_version={FORMAT}")
            self._connection = conn
        return self._connection

    def _remove(self) -> None:
        for suffix in ("", "-wal", "-shm"):
            try:
                os.unlink(self.path + suffix)
            except FileNotFoundError:
                pass


def _connect(path: str) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, cached_statements=8)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")  # derived data: see the module docstring
    conn.execute("PRAGMA cache_size=-64")  # KiB; the OS page cache is the one that matters
    conn.execute(_SCHEMA)
    return conn
