"""The job that closes the stores of users nobody uses (DESIGN §4).

An open account holds its index connection (SQLite's page and statement
caches) and every folder it ever loaded as arrays; a server that never let go
of them would grow with every user who ever logged in. Every
``[server] unload_idle_after`` / 4 this job closes the accounts that nothing
looked up or worked on for ``unload_idle_after``, that no session listens to
(a selected folder, IDLE, NOTIFY: ``ChangeBus.heard``) and of whose user no
session is logged in (the server's ``in_use``), after a last index backup.
The next lookup opens the store again from disk, as after a restart. It never
touches message files and never runs blocking work on the reactor thread.
"""

from __future__ import annotations

from typing import Any, Callable

from twisted.internet.defer import Deferred
from twisted.logger import Logger

from ..periodic import PeriodicService
from .backup import backup_if_changed

__all__ = ["UnloadService"]

log = Logger()


class UnloadService(PeriodicService):
    what = "idle account unload"

    def __init__(self, store: Any, idle_for: float, in_use: Callable[[str], bool],
                 expunge_history: int = 0, clock: Any = None) -> None:
        super().__init__(max(idle_for / 4, 1), clock)
        self.store = store
        self.idle_for = idle_for
        self.in_use = in_use
        self.expunge_history = expunge_history

    def run_once(self) -> Deferred:
        return Deferred.fromCoroutine(self._run_once())

    async def _run_once(self) -> int:
        """Close what is idle; returns how many accounts were closed."""
        closed = 0
        for account in self.store.idle_accounts(self.idle_for):
            if self.in_use(account.username):
                continue
            closed += await self.store.unload(account, self.in_use, self._backup)
        if closed:
            log.debug("Closed {count} idle accounts", count=closed)
        return closed

    async def _backup(self, account: Any) -> None:
        await backup_if_changed(account, self.expunge_history)
