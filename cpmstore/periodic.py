"""The one shape of every background job of the server (DESIGN §4): a
service that calls ``run_once`` every ``interval`` seconds on the reactor's
clock, logs instead of dying when a run fails, and stops its loop when the
service tree stops (``at_stop`` runs last, for a job that must run once more).
The jobs themselves (index backups, idle-store unloading, giving freed memory
back) only say what one run does.
"""

from __future__ import annotations

from typing import Any

from twisted.application.service import Service
from twisted.internet.defer import Deferred, succeed
from twisted.internet.task import LoopingCall
from twisted.logger import Logger

__all__ = ["PeriodicService"]

log = Logger()


class PeriodicService(Service):
    """Subclasses define ``run_once() -> Deferred``; ``interval`` 0 never loops.
    Stopping waits for a run in progress, then ``at_stop``: a last run never
    overlaps the one under way, and the server stops only when both ended."""

    what = "periodic job"  # for the log line if the loop ever stops on an error

    def __init__(self, interval: float, clock: Any = None) -> None:
        self.interval = interval
        self.clock = clock
        self._loop: LoopingCall | None = None
        self._finished: Deferred | None = None  # fires when the loop has stopped and its run ended

    def run_once(self) -> Deferred:
        raise NotImplementedError

    def at_stop(self) -> Deferred:
        return succeed(None)

    def startService(self) -> None:
        super().startService()
        if not self.interval:
            return
        self._loop = LoopingCall(self.run_once)
        if self.clock is not None:
            self._loop.clock = self.clock
        self._finished = self._loop.start(self.interval, now=False).addErrback(
            lambda failure: log.failure("{what} loop stopped", failure, what=self.what))

    def stopService(self) -> Deferred:
        super().stopService()
        if self._loop is not None and self._loop.running:
            self._loop.stop()
        finished, self._finished = self._finished, None
        if finished is None:
            return self.at_stop()  # the server's stop awaits every child
        return finished.addCallback(lambda _: self.at_stop())
