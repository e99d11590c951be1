"""Giving freed heap memory back to the operating system (DESIGN §4, memory).

glibc's malloc keeps memory a process freed for its next allocations, in one
arena per thread that allocated (the reactor and every store worker thread).
Under steady load the freed pieces are scattered, little of it is at the end
of an arena where malloc returns it by itself, and the server's RSS crept up
by 0.5-1.5 MiB a minute in the soak while its Python heap (tracemalloc) and
SQLite's memory stayed flat. ``malloc_trim(0)`` releases every wholly free
page, wherever it is; with it every 30 s the soak's RSS was flat. This module
owns finding that function (glibc only: elsewhere there is nothing to do) and
the service that calls it, in a pool thread: on a fragmented 100 MB heap one
call takes some 20 ms, which the reactor should not wait for.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from typing import Any, Callable

from twisted.internet.defer import Deferred
from twisted.internet.threads import deferToThreadPool

from ..periodic import PeriodicService

__all__ = ["TRIM_INTERVAL", "TrimService", "release_freed_memory"]

TRIM_INTERVAL = 60.0  # seconds


def _find_trim() -> Callable[[int], int] | None:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return libc.malloc_trim
    except (OSError, AttributeError):
        return None  # not glibc (musl, macOS): its malloc does its own returning


_TRIM = _find_trim()


def release_freed_memory() -> bool:
    """Return wholly free heap pages to the OS; True if any were. Blocking
    (it locks each malloc arena in turn): call it from a pool thread."""
    return bool(_TRIM(0)) if _TRIM is not None else False


class TrimService(PeriodicService):
    what = "malloc trim"

    def __init__(self, reactor: Any, interval: float = TRIM_INTERVAL) -> None:
        # No loop where there is no malloc_trim to call.
        super().__init__(interval if _TRIM is not None else 0, reactor)
        self.reactor = reactor

    def run_once(self) -> Deferred:
        return deferToThreadPool(self.reactor, self.reactor.getThreadPool(), release_freed_memory)
