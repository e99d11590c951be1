"""Fixtures that start the real server (service tree, real store in a temp
dir) on 127.0.0.1 port 0 in the test's reactor. Clients are blocking
(imaplib, imapclient, raw sockets), so each test runs its client scenario in
a thread with ``in_thread`` while the reactor serves it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import pytest_twisted
from twisted.internet import reactor, threads

from cpmstore.config import CpmConfig, LimitsConfig, make_config
from cpmstore.service import RunningServer, start_server


@dataclass
class Server:
    running: RunningServer
    data_dir: Path

    @property
    def port(self) -> int:
        return self.running.ports[0].getHost().port

    def port_of(self, index: int) -> int:
        return self.running.ports[index].getHost().port


def in_thread(fn: Callable[..., Any], *args: Any):
    """Run a blocking client scenario while the reactor keeps serving."""
    return threads.deferToThread(fn, *args)


@pytest_twisted.async_yield_fixture
async def start(tmp_path, users_file):
    """``await start(listeners=..., tls=..., limits=...)`` -> a running Server."""
    running: list[RunningServer] = []

    async def _start(data_dir: Path | None = None, **kwargs: Any) -> Server:
        data_dir = data_dir or tmp_path / "data"
        limits = kwargs.pop("limits", LimitsConfig(login_failure_delay=0.0))
        # No [cpm] system_folders unless a test asks: transcripts then show
        # only the folders the test made (test_cpm_objects.py tests them).
        kwargs.setdefault("cpm", CpmConfig(system_folders=()))
        config = make_config(data_dir, users_file=kwargs.pop("users_file", users_file),
                             limits=limits, **kwargs)
        server = await start_server(config, reactor)
        running.append(server)
        return Server(server, data_dir)

    yield _start
    for server in running:
        if server.service.running:  # a test may have stopped it already
            await server.stop()


@pytest_twisted.async_yield_fixture
async def server(start):
    """A plaintext loopback listener with users user1..user5 / pass."""
    yield await start()
