"""Freed heap pages go back to the OS (server/malloc.py): the soak's RSS
crept up while the Python heap and SQLite stayed flat, until the server
called glibc's malloc_trim every minute."""

import re

import pytest_twisted
from twisted.internet import reactor

from cpmstore.server.malloc import TrimService, release_freed_memory


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
async def test_the_server_trims_in_a_pool_thread():
    service = TrimService(reactor, interval=3600)
    service.startService()
    try:
        assert service.running and service._loop is not None and service._loop.running
        # One run, as the loop makes it: in a thread, answering whether pages went back.
        assert isinstance(await service.run_once(), bool)
    finally:
        await service.stopService()
    assert not service._loop.running
