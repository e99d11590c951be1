"""The differential suite runs only when asked (``CPMSTORE_CONFORMANCE=1``):
it needs the reference Dovecot on 127.0.0.1:10143, which the normal suite
must not depend on. Unset, nothing here is collected (not skipped).

Fixtures: ``cpmstore_port`` starts the real server in-process on port 0 with
users user1..user5 / pass and the other users' namespace named ``shared`` as
in the reference Dovecot (``shared/user3/Box``); ``dovecot`` fails clearly if
the reference server is not reachable; ``run_id`` is this run's unique
folder-prefix stem."""

from __future__ import annotations

import os
import socket
import uuid

import pytest
import pytest_twisted
from twisted.internet import reactor

from cpmstore.config import LimitsConfig, make_config
from cpmstore.service import start_server

import harness

if os.environ.get("CPMSTORE_CONFORMANCE") != "1":
    collect_ignore_glob = ["*"]


@pytest.fixture(scope="session")
def run_id() -> str:
    return uuid.uuid4().hex[:8]


@pytest.fixture(scope="session")
def dovecot() -> tuple[str, int]:
    try:
        socket.create_connection(harness.DOVECOT, timeout=3).close()
    except OSError as error:
        pytest.fail(f"reference Dovecot is not reachable on {harness.DOVECOT[0]}:{harness.DOVECOT[1]} ({error});"
                    " install and start it: bash /work/shared/tools/dovecot/setup.sh &&"
                    " /opt/dovecot-ref/bin/dovecot-ref start", pytrace=False)
    return harness.DOVECOT


@pytest_twisted.async_yield_fixture
async def cpmstore_port(tmp_path, users_file):
    config = make_config(tmp_path / "data", users_file=users_file, other_users_prefix="shared",
                         limits=LimitsConfig(login_failure_delay=0.0))
    server = await start_server(config, reactor)
    yield server.ports[0].getHost().port
    await server.stop()
