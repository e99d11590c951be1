"""A full disk and failing I/O (issue 10): the client gets NO [OVERQUOTA]
"Not enough disk space." or NO [SERVERBUG], nothing already stored is
damaged, nothing of the failed change stays, and the server goes on serving.

Faults are injected where the store meets the operating system: the index
through SQLite's own cap on its size (``PRAGMA max_page_count``, which fails
a write with SQLITE_FULL exactly as a full disk does), message files through
the ``os`` module the Maildir writer calls."""

from __future__ import annotations

import errno
import os

import pytest_twisted
from conftest import in_thread
from imapsession import append
from transcript import Connection, logged_in as _login

from cpmstore.store import maildir
from cpmstore.store.rebuild import check_index


def _append(conn: Connection, folder: bytes, n: int, size: int = 2000) -> bytes:
    return append(conn, folder, b"Subject: m%d\r\nX-Id: %d\r\n\r\n" % (n, n) + b"y" * size + b"\r\n")


def _filled(port: int, folder: bytes) -> tuple[Connection, list[bytes]]:
    """user1 logged in, ``folder`` created with 3 messages; their FETCH lines."""
    conn = _login(port, b"user1")
    assert conn.command(b"c", b"CREATE " + folder)[-1].startswith(b"c OK")
    for n in range(3):
        assert _append(conn, folder, n).startswith(b"ap OK")
    return conn, _bodies(conn, folder)


def _bodies(conn: Connection, folder: bytes) -> list[bytes]:
    assert conn.command(b"e", b"EXAMINE " + folder)[-1].startswith(b"e OK")
    return [line for line in conn.command(b"f", b"UID FETCH 1:* (UID FLAGS BODY.PEEK[])") if line.startswith(b"* ")]


def _files(data_dir, user: str) -> int:
    root = data_dir / "users" / user / "mail"
    return sum(len(os.listdir(root / box / "cur")) for box in os.listdir(root) if (root / box / "cur").is_dir())


class _FailingOs:
    """The ``os`` module, except that ``write`` fails with ``error`` while armed."""

    def __init__(self) -> None:
        self.error: int | None = None

    def write(self, fd: int, data) -> int:
        if self.error is not None:
            raise OSError(self.error, os.strerror(self.error))
        return os.write(fd, data)

    def __getattr__(self, name: str):
        return getattr(os, name)


@pytest_twisted.ensureDeferred
async def test_index_full_answers_overquota_and_keeps_everything_else(server):
    store = server.running.context.store

    conn, before = await in_thread(_filled, server.port, b"Chats")
    index = store.loaded_account("user1").index
    pages = index.connection.execute("PRAGMA page_count").fetchone()[0]
    index.connection.execute(f"PRAGMA max_page_count = {pages}")

    def over_the_cap() -> list[bytes]:
        answers = [_append(conn, b"Chats", n, size=20000) for n in range(3, 40)]
        refused = [a for a in answers if not a.startswith(b"ap OK")]
        assert refused, "the capped index never filled"
        return refused

    refused = await in_thread(over_the_cap)
    assert all(a == b"ap NO [OVERQUOTA] Not enough disk space." for a in refused), refused

    def afterwards() -> None:
        stored = _bodies(conn, b"Chats")
        assert stored[:3] == before  # what was there is untouched
        assert conn.command(b"n", b"NOOP")[-1].startswith(b"n OK")
        other = _login(server.port, b"user2")  # another user's index has room
        assert _append(other, b"INBOX", 1).startswith(b"ap OK")
        other.close()

    await in_thread(afterwards)
    index.connection.execute("PRAGMA max_page_count = 1073741823")
    assert (await in_thread(_append, conn, b"Chats", 99)).startswith(b"ap OK")
    # No message file without its index row, no index row without its file.
    indexed = len(await in_thread(_bodies, conn, b"Chats"))
    assert _files(server.data_dir, "user1") == indexed
    assert check_index(store.user_dir("user1")) == []
    conn.close()


@pytest_twisted.ensureDeferred
async def test_enospc_and_eio_on_message_files(server, monkeypatch):
    failing = _FailingOs()
    monkeypatch.setattr(maildir, "os", failing)
    store = server.running.context.store

    conn, before = await in_thread(_filled, server.port, b"Media")

    failing.error = errno.ENOSPC
    assert (await in_thread(_append, conn, b"Media", 10)) == b"ap NO [OVERQUOTA] Not enough disk space."
    failing.error = errno.EIO
    answer = await in_thread(_append, conn, b"Media", 11)
    assert answer.startswith(b"ap NO [SERVERBUG]"), answer
    failing.error = None

    def afterwards() -> None:
        assert _bodies(conn, b"Media") == before
        other = _login(server.port, b"user2")
        assert _append(other, b"INBOX", 1).startswith(b"ap OK")
        other.close()
        assert _append(conn, b"Media", 12).startswith(b"ap OK")

    await in_thread(afterwards)
    indexed = len(await in_thread(_bodies, conn, b"Media")) + len(await in_thread(_bodies, conn, b"INBOX"))
    assert _files(server.data_dir, "user1") == indexed
    assert check_index(store.user_dir("user1")) == []
    conn.close()
