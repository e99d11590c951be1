"""Fixtures shared by every test folder.

- ``tls_files``: a self-signed certificate and key for ``localhost`` /
  127.0.0.1, made once per session by the server's own generator
  (cpmstore.tls.write_self_signed; an EC key: quick to make and to use),
  as a ``TLSConfig`` ready for ``make_config(..., tls=tls_files)``; clients
  trust ``tls_files.certificate``.
- ``make_users_file`` / ``users_file``: a passwd-file with ``{PLAIN}``
  passwords, by default user1..user5 / ``pass`` like the reference Dovecot.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Mapping

import pytest

from cpmstore.config import TLSConfig
from cpmstore.tls import write_self_signed

DEFAULT_USERS = {f"user{i}": "pass" for i in range(1, 6)}


def _self_signed(directory: Path) -> TLSConfig:
    # The server's own first-run generator, so the tests trust exactly the
    # kind of certificate an operator gets.
    tls = TLSConfig(certificate=str(directory / "cert.pem"), private_key=str(directory / "key.pem"))
    write_self_signed(tls, ["localhost", "127.0.0.1"])
    return tls


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> TLSConfig:
    return _self_signed(tmp_path_factory.mktemp("tls"))


def write_users_file(path: Path, users: Mapping[str, str] = DEFAULT_USERS) -> str:
    path.write_text("".join(f"{name}:{{PLAIN}}{password}\n" for name, password in users.items()))
    return str(path)


@pytest.fixture
def make_users_file(tmp_path: Path) -> Callable[..., str]:
    """``make_users_file({"alice": "secret"})`` -> path of a new passwd-file."""
    count = 0

    def make(users: Mapping[str, str] = DEFAULT_USERS) -> str:
        nonlocal count
        count += 1
        return write_users_file(tmp_path / f"passwd{count}", users)

    return make


@pytest.fixture
def users_file(make_users_file: Callable[..., str]) -> str:
    """user1..user5, password ``pass``, all ``{PLAIN}``."""
    return make_users_file()
