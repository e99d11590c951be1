"""The reliability tests start the real server with the same fixtures as the
server tests (``start``, ``server``), re-exported from ``tests/server/conftest.py``
under a module name of their own so the conftest files never shadow each
other (as ``tests/stress`` does). Every test here is bounded in time."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

_SERVER_TESTS = Path(__file__).resolve().parents[1] / "server"
if str(_SERVER_TESTS) not in sys.path:
    sys.path.append(str(_SERVER_TESTS))  # the raw-socket client, transcript.Connection

_NAME = "cpmstore_server_fixtures"
if _NAME in sys.modules:
    _fixtures = sys.modules[_NAME]
else:
    _spec = importlib.util.spec_from_file_location(
        _NAME, _SERVER_TESTS / "conftest.py")
    _fixtures = importlib.util.module_from_spec(_spec)
    sys.modules[_spec.name] = _fixtures  # its dataclasses look their module up there
    _spec.loader.exec_module(_fixtures)

start = _fixtures.start
server = _fixtures.server
in_thread = _fixtures.in_thread
