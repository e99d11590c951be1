"""Running the store's blocking work off the reactor thread (DESIGN §4).

Owns the threads the store starts and stops, and the per-user queue that
makes one user's operations run one at a time, in the order they were asked
for, so that one user's slow disk never stalls another user's sessions and an
index connection is never used by two threads at once. It knows nothing of
mail: it runs the callables it is given.
"""

from __future__ import annotations

import errno
import queue
import sqlite3
import threading
import time
from collections import deque
from contextlib import contextmanager
from typing import Any, Callable, Iterator, TypeVar

from twisted.internet.defer import Deferred
from twisted.logger import Logger
from twisted.python.failure import Failure

from ..errors import DiskFull

T = TypeVar("T")
log = Logger()

_NO_SPACE = (errno.ENOSPC, errno.EDQUOT)

# Threads that run store work. Every statement and syscall there releases and
# takes back the GIL, so past a few threads they mostly wait for each other
# and for the reactor: 10 users writing at once (benchmarks/loadgen.py
# --mix persistent --clients 10) made 1,380-1,480 commands/s with 8 threads
# and 1,740 with 2 or 4, a STORE spending 4 ms in its thread with 8 and
# 1 ms with 2. Four still overlap several users' fsyncs on a slow disk.
STORE_THREADS = 4


@contextmanager
def disk_full() -> Iterator[None]:
    """Where a full disk (ENOSPC, EDQUOT, SQLITE_FULL) raised by a write of
    the store becomes ``DiskFull`` (NO [OVERQUOTA]) for the client and an
    error in the log for the operator."""
    try:
        yield
    except OSError as e:
        if e.errno not in _NO_SPACE:
            raise
        log.error("Disk full writing the store: {error}", error=str(e))
        raise DiskFull("Not enough disk space.") from None
    except sqlite3.OperationalError as e:
        # SQLITE_FULL: the index could not grow (disk full, or its size cap).
        if e.sqlite_errorcode != sqlite3.SQLITE_FULL:
            raise
        log.error("Disk full writing an index: {error}", error=str(e))
        raise DiskFull("Not enough disk space.") from None


class Workers:
    """Threads owned by the store (started on creation, stopped by ``stop``)
    taking jobs from one queue. Not Twisted's ThreadPool: its context
    propagation and worker coordination cost 51 us of CPU per round trip of
    a no-op job on this machine, this queue 29 us, and every STORE, EXPUNGE
    and APPEND makes one."""

    def __init__(self, reactor: Any, max_threads: int = STORE_THREADS) -> None:
        self.reactor = reactor
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        self._threads = [threading.Thread(target=self._work, name=f"cpmstore-store-{n}", daemon=True)
                         for n in range(max_threads)]
        for thread in self._threads:
            thread.start()

    @property
    def started(self) -> bool:
        """Whether the threads run (``stop`` not called yet)."""
        return bool(self._threads)

    def _work(self) -> None:
        while (job := self._jobs.get()) is not None:
            self._run(*job)
            job = None  # hold nothing of a finished job while waiting for the next

    def _run(self, done: Deferred, fn: Callable[..., Any], args: tuple) -> None:
        try:
            result = fn(*args)
        except BaseException:
            self.reactor.callFromThread(done.errback, Failure())
        else:
            self.reactor.callFromThread(done.callback, result)

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)`` in a pool thread; the result (or exception) on the reactor thread.

        A full disk becomes ``DiskFull`` here (``disk_full``); the store has
        already undone the change (files removed, transaction rolled back).
        Other I/O errors go on as they are and answer NO [SERVERBUG]."""
        if not self._threads:
            raise RuntimeError("the store's threads are stopped")
        done: Deferred = Deferred()
        self._jobs.put((done, fn, args))
        with disk_full():
            return await done

    def stop(self) -> None:
        """Let the queued jobs finish, then end the threads."""
        threads, self._threads = self._threads, []
        for _thread in threads:
            self._jobs.put(None)
        for thread in threads:
            thread.join()


class UserQueue:
    """One user's operations, one at a time.

    ``async with queue:`` holds the user's turn across the thread work and
    the in-memory update that follows it on the reactor thread, so every
    session sees changes applied in commit order.
    """

    def __init__(self, workers: Workers) -> None:
        self.workers = workers
        # A lock that costs nothing when free (DeferredLock makes and fires a
        # Deferred on every acquire): every command of the user passes here.
        self._held = False
        self._waiting: deque[Deferred] = deque()
        # When the last operation ended (time.monotonic()): the store unloads
        # only accounts nothing has worked on for a while.
        self.last_used = time.monotonic()

    @property
    def busy(self) -> bool:
        """Whether an operation holds the user's turn (others may wait)."""
        return self._held

    async def __aenter__(self) -> "UserQueue":
        if self._held:
            turn: Deferred = Deferred()
            self._waiting.append(turn)
            await turn  # fired by __aexit__, which hands the turn over still held
        self._held = True
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self.last_used = time.monotonic()
        if self._waiting:
            self._waiting.popleft().callback(None)  # the next one's turn, in order
        else:
            self._held = False

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """Take the user's turn and run ``fn`` in a thread."""
        async with self:
            return await self.workers.run(fn, *args)
