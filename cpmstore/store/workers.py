"""Running the store's blocking work off the reactor thread (DESIGN §4).

Owns the thread pool the store starts and stops, and the per-user queue that
makes one user's operations run one at a time, in the order they were asked
for, so that one user's slow disk never stalls another user's sessions and an
index connection is never used by two threads at once. It knows nothing of
mail: it runs the callables it is given.
"""

from __future__ import annotations

from typing import Any, Callable, TypeVar

from twisted.internet.defer import DeferredLock
from twisted.internet.threads import deferToThreadPool
from twisted.python.threadpool import ThreadPool

T = TypeVar("T")


class Workers:
    """A thread pool owned by the store (started on creation, stopped by ``stop``)."""

    def __init__(self, reactor: Any, max_threads: int = 8) -> None:
        self.reactor = reactor
        self.pool = ThreadPool(minthreads=0, maxthreads=max_threads, name="cpmstore-store")
        self.pool.start()

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)`` in a pool thread; the result (or exception) on the reactor thread."""
        return await deferToThreadPool(self.reactor, self.pool, fn, *args)

    def stop(self) -> None:
        self.pool.stop()


class UserQueue:
    """One user's operations, one at a time.

    ``async with queue:`` holds the user's turn across the thread work and
    the in-memory update that follows it on the reactor thread, so every
    session sees changes applied in commit order.
    """

    def __init__(self, workers: Workers) -> None:
        self.workers = workers
        self._lock = DeferredLock()

    async def __aenter__(self) -> "UserQueue":
        await self._lock.acquire()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self._lock.release()

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """Take the user's turn and run ``fn`` in a thread."""
        async with self:
            return await self.workers.run(fn, *args)
