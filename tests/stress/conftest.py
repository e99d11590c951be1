"""The stress tests start the real server with the same fixtures as the
server tests (``start``, ``server``): this re-exports them from
``tests/server/conftest.py`` under a module name of its own, so the two
conftest files never shadow each other. Every test here is bounded in time."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

_spec = importlib.util.spec_from_file_location(
    "cpmstore_server_fixtures", Path(__file__).resolve().parents[1] / "server" / "conftest.py")
_fixtures = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = _fixtures  # its dataclasses look their module up there
_spec.loader.exec_module(_fixtures)

start = _fixtures.start
server = _fixtures.server
in_thread = _fixtures.in_thread
