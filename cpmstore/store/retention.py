"""Retention of \\Deleted messages: ``[cpm] expunge_deleted_after`` (DESIGN §4).

Owns the background job that expunges, in every user's store on disk, the
messages that have carried \\Deleted for longer than the configured period.
Until then a \\Deleted message stays visible and fetchable, so a client that
never sends EXPUNGE still learns of the deletion through ``CHANGEDSINCE``
(RFC 7162 §3.1.4.1). The job removes messages only through
``Account.expunge``, so the MODSEQ, the expunged-UID history behind VANISHED
(RFC 7162 §3.2.10), the EXPUNGE or VANISHED responses of sessions with the
folder selected (RFC 3501 §7.4.1) and NOTIFY all see exactly what a client's
EXPUNGE (RFC 3501 §6.4.3) would make them see. It never runs blocking work on
the reactor thread (index reads go to the store's worker threads) and never
works on two users at once.

When \\Deleted was set is the index column ``deleted_at`` (schema ``_V5``);
messages already \\Deleted when that column was added count from the migration.
"""

from __future__ import annotations

import sqlite3
import time
from datetime import datetime, timezone
from typing import Any, Callable

from twisted.internet.defer import Deferred
from twisted.logger import Logger

from ..errors import NoSuchMailbox
from ..periodic import PeriodicService
from .account import Account
from .index import Index, deleted_stamp
from .rebuild import index_path
from .schema import MIGRATIONS
from .store import MaildirStore

__all__ = ["RetentionJob", "RetentionService", "retention_interval"]

log = Logger()

MAX_INTERVAL = 3600.0
MIN_INTERVAL = 1.0


def retention_interval(period: float) -> float:
    """Seconds between runs: a tenth of the period (a message goes at most
    10% late), at most an hour, at least a second."""
    return max(MIN_INTERVAL, min(period / 10, MAX_INTERVAL))


def _due_on_disk(path: str, stamp: str) -> bool:
    """Whether a store this process has not opened has anything to expunge,
    read without opening it for good (a pool thread). An index not yet
    migrated to ``deleted_at``, or one that cannot be read this way, answers
    True: opening it through the store migrates or reports it."""
    try:
        index = Index.open_readonly(path)
    except sqlite3.Error:
        return True
    try:
        if index.connection.execute("PRAGMA user_version").fetchone()[0] < len(MIGRATIONS):
            return True
        return bool(index.deleted_before(stamp, limit=1))
    except sqlite3.Error:
        return True
    finally:
        index.close()


class RetentionJob:
    """One pass over every user's store; ``now`` is the clock (seconds since
    the epoch) the period is measured against."""

    def __init__(self, store: MaildirStore, period: float, now: Callable[[], float] = time.time) -> None:
        self.store = store
        self.period = period
        self.now = now
        # Set when the server stops: the pass ends after the current user.
        self.stopping = False

    def cutoff(self) -> str:
        """The ``deleted_at`` at or before which a message is due."""
        return deleted_stamp(datetime.fromtimestamp(self.now() - self.period, timezone.utc))

    async def run_once(self) -> dict[str, dict[str, int]]:
        """Expunge what is due, one user at a time; user -> folder -> count
        of what was expunged (users and folders with nothing left out). A
        user whose store fails is logged and skipped."""
        stamp = self.cutoff()
        expunged: dict[str, dict[str, int]] = {}
        for username in await self.store.usernames():
            if self.stopping:
                break
            try:
                counts = await self.expunge_user(username, stamp)
            except Exception:
                log.failure("Retention: expunging {user}'s \\Deleted messages failed", user=username)
                continue
            if counts:
                expunged[username] = counts
        return expunged

    async def expunge_user(self, username: str, stamp: str) -> dict[str, int]:
        """Expunge ``username``'s messages \\Deleted at or before ``stamp``."""
        account = self.store.loaded_account(username)
        if account is None:
            path = index_path(self.store.user_dir(username))
            if not await self.store.workers.run(_due_on_disk, path, stamp):
                return {}
            account = await self.store.existing_account(username)
            if account is None:
                return {}
        return await _expunge_due(account, stamp)


async def _expunge_due(account: Account, stamp: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for name, uids in await account.queue.run(account.index.deleted_before, stamp):
        try:
            mailbox = await account.open_mailbox(name)
        except NoSuchMailbox:
            continue  # deleted since the query
        # Account.expunge looks at \Deleted, and at when it was set, again in
        # the user's turn: a message whose flag was removed meanwhile stays, and
        # one flagged again meanwhile starts its period anew.
        removed = await account.expunge(mailbox, uids, deleted_before=stamp)
        if removed:
            counts[name] = len(removed)
            log.info("Retention: expunged {count} \\Deleted message(s) from {user}'s {folder}",
                     count=len(removed), user=account.username, folder=name)
    return counts


class RetentionService(PeriodicService):
    """Runs a ``RetentionJob`` every ``retention_interval(period)`` seconds
    of ``clock`` (the reactor unless a test gives a ``task.Clock``), the first
    run one interval after the start. Stopping waits for a run in progress,
    which ends after its current user."""

    name = "retention"
    what = "retention"

    def __init__(self, store: MaildirStore, period: float, clock: Any = None,
                 now: Callable[[], float] = time.time) -> None:
        super().__init__(retention_interval(period), clock)
        self.job = RetentionJob(store, period, now)
        # The pass under way, None between passes (a test waits on it).
        self.in_progress: Deferred | None = None

    def startService(self) -> None:
        self.job.stopping = False
        super().startService()

    def run_once(self) -> Deferred:
        self.in_progress = Deferred.fromCoroutine(self._run_logged())
        return self.in_progress

    async def _run_logged(self) -> None:
        # A failure here would end the LoopingCall for good: log it instead.
        try:
            await self.job.run_once()
        except Exception:
            log.failure("Retention: a pass failed")
        finally:
            self.in_progress = None

    def stopService(self) -> Deferred:
        self.job.stopping = True  # the pass under way ends after its current user
        return super().stopService()
