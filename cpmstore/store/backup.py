"""Copies of each user's index, and the job that takes them (DESIGN §4).

The message files say which messages exist, with their UIDs and folders;
only the index holds flags, MODSEQs, ACLs, METADATA, annotations,
subscriptions and URLAUTH keys. So that losing or damaging the index does
not lose those, this module keeps ``index.sqlite3.backup`` beside it: a
consistent copy made with SQLite's online backup while the user's queue is
held, written to a temporary file, fsynced and renamed into place. The
backup job copies the index of every open account that changed since its
last copy, every ``[server] index_backup_interval``, and once more when the
server stops. ``rebuild.rebuild_index`` restores from the copy and then
reconciles it with the files. Never touches message files.
"""

from __future__ import annotations

import os
import sqlite3
from typing import Any

from twisted.internet.defer import Deferred
from twisted.logger import Logger

from ..periodic import PeriodicService
from . import maildir

__all__ = ["BackupService", "backup_if_changed", "backup_path", "usable_copy", "write_backup"]

log = Logger()
BACKUP_SUFFIX = ".backup"


def backup_path(index_file: str) -> str:
    return index_file + BACKUP_SUFFIX


def write_backup(connection: sqlite3.Connection, index_file: str) -> str:
    """A consistent copy of the index open on ``connection`` at
    ``index.sqlite3.backup``, replaced atomically. Blocking: a pool thread
    holding the user's turn, so nothing writes meanwhile."""
    target = backup_path(index_file)
    tmp = target + ".tmp"
    if os.path.exists(tmp):
        os.unlink(tmp)  # a crash's leftover: copies are serialized per user
    copy = sqlite3.connect(tmp, isolation_level=None)
    try:
        connection.backup(copy)
        # One self-contained file: no -wal beside it to lose.
        copy.execute("PRAGMA journal_mode=DELETE")
    finally:
        copy.close()
    fd = os.open(tmp, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    os.rename(tmp, target)
    maildir.fsync_dir(os.path.dirname(target) or ".")
    return target


def usable_copy(path: str) -> bool:
    """Whether ``path`` (a copy nobody else uses) is an index SQLite can
    read whole (``quick_check``)."""
    if not os.path.isfile(path):
        return False
    try:
        conn = sqlite3.connect(path)
        try:
            ok = conn.execute("PRAGMA quick_check").fetchone()[0] == "ok"
            return ok and conn.execute("SELECT COUNT(*) FROM mailboxes").fetchone() is not None
        finally:
            conn.close()
    except sqlite3.Error:
        return False


async def backup_if_changed(account: Any, expunge_history: int = 0) -> bool:
    """Copy ``account``'s index if it changed since its last copy, first
    forgetting all but the newest ``expunge_history`` expunges of each folder
    (0: none); returns whether a copy was written. Failures are logged, not
    raised: the index itself is intact, only its copy is older."""
    if account.index.connection.total_changes == account.backed_up_changes:
        return False
    try:
        if expunge_history:
            # Before the copy, so the copy is as small as the index.
            await account.queue.run(account.index.prune_expunged, expunge_history)
        await account.queue.run(write_backup, account.index.connection, account.index.path)
    except (OSError, sqlite3.Error) as e:
        log.error("Backup of the index of {user} failed: {error}", user=account.username, error=str(e))
        return False
    # After the prune: its own deletions are not a change to copy next time.
    account.backed_up_changes = account.index.connection.total_changes
    return True


class BackupService(PeriodicService):
    """Runs ``backup_if_changed`` on every open account every ``interval``
    seconds (0: only at stop) and at stop."""

    what = "index backup"

    def __init__(self, store: Any, interval: float, clock: Any = None, expunge_history: int = 0) -> None:
        super().__init__(interval, clock)
        self.store = store
        self.expunge_history = expunge_history  # 0: never prune

    def at_stop(self) -> Deferred:
        return self.run_once()

    def run_once(self) -> Deferred:
        return Deferred.fromCoroutine(self._run_once())

    async def _run_once(self) -> int:
        """Copy what changed; returns how many indexes were copied."""
        copied = 0
        for account in self.store.loaded_accounts():
            copied += await backup_if_changed(account, self.expunge_history)
        return copied
