"""Freed heap pages go back to the OS (server/malloc.py): the soak's RSS
crept up while the Python heap and SQLite stayed flat, until the server
called glibc's malloc_trim every minute."""

import re

import pytest_twisted
from cpmstore.server.malloc import TRIM_INTERVAL, TrimService, release_freed_memory


def _rss_kib() -> int:
    with open("/proc/self/status") as status:
        return int(re.search(r"VmRSS:\s+(\d+) kB", status.read()).group(1))


def test_release_freed_memory_gives_scattered_free_pages_back():
    # 40,000 blocks of 600-1,100 bytes (too big for Python's own allocator,
    # so from malloc), one in fifty kept: the rest is free but inside the heap.
    blocks = [bytes(600 + i % 500) for i in range(40000)]
    kept = blocks[::50]
    del blocks
    before = _rss_kib()
    assert release_freed_memory()
    after = _rss_kib()
    assert before - after > 10_000, (before, after)  # of some 35 MiB freed
    assert len(kept) == 800


@pytest_twisted.ensureDeferred
async def test_the_server_runs_the_trim_every_minute_until_it_stops(start):
    server = await start()
    trims = [child for child in server.running.service if isinstance(child, TrimService)]
    assert len(trims) == 1
    trim = trims[0]
    assert trim._loop is not None and trim._loop.running and trim._loop.interval == TRIM_INTERVAL
    assert await trim.run_once() in (True, False)  # a run, in a pool thread, completes
    await server.running.stop()
    assert not trim._loop.running
