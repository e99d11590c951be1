"""Fixtures for the store tests: a real ``MaildirStore`` in ``tmp_path``.

- ``data_dir``: the data directory (a ``str``).
- ``store``: a store on it, closed after the test (a test may close it
  earlier and open another on the same directory to check a restart).
- ``account``: user ``alice`` of that store.
- ``optimized``: user ``alice`` of a store with fsync = "optimized".
"""

from __future__ import annotations

import pytest
import pytest_twisted

from cpmstore.store.store import MaildirStore


@pytest.fixture
def data_dir(tmp_path) -> str:
    return str(tmp_path / "data")


@pytest_twisted.async_yield_fixture
async def store(data_dir):
    opened = MaildirStore(data_dir)
    yield opened
    if opened.workers.started:
        await opened.close()


@pytest_twisted.async_fixture
async def account(store):
    return await store.account("alice")


@pytest_twisted.async_yield_fixture
async def optimized(data_dir):
    store = MaildirStore(data_dir, fsync="optimized")
    yield await store.account("alice")
    await store.close()
