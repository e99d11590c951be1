"""Index loss with the real server (issue 10): the copy a stopping server
makes of each changed index brings back flags, ACLs, METADATA and
subscriptions when the index is deleted, and a QRESYNC device is told to
refetch every flag (RFC 7162 §3.1.2) rather than trust what it holds."""

from __future__ import annotations

import os
import re

import pytest_twisted
from conftest import in_thread
from transcript import logged_in as _login, ok as _ok

from cpmstore.store.rebuild import index_path


@pytest_twisted.ensureDeferred
async def test_deleted_index_restored_from_the_copy_made_at_stop(start, tmp_path):
    data_dir = tmp_path / "data"
    server = await start(data_dir=data_dir)

    def before() -> tuple[list[bytes], int, int]:
        conn = _login(server.port)
        _ok(conn, b"a", b"CREATE Chats")
        for n in range(4):
            msg = b"Subject: %d\r\n\r\nhello %d\r\n" % (n, n)
            conn.send(b"ap APPEND Chats (\\Seen $Pinned) {%d+}\r\n" % len(msg) + msg + b"\r\n")
            assert conn.until(b"ap")[-1].startswith(b"ap OK")
        _ok(conn, b"b", b"SETACL Chats user2 lrs")
        _ok(conn, b"c", b'SETMETADATA Chats (/private/comment "family")')
        _ok(conn, b"d", b"SUBSCRIBE Chats")
        lines = _ok(conn, b"e", b"SELECT Chats (CONDSTORE)")
        _ok(conn, b"f", b"STORE 2 -FLAGS.SILENT (\\Seen)")
        flags = _ok(conn, b"g", b"FETCH 1:* (UID FLAGS)")
        text = b"".join(lines)
        conn.close()
        return flags, int(re.search(rb"UIDVALIDITY (\d+)", text).group(1)), int(re.search(rb"HIGHESTMODSEQ (\d+)", text).group(1))

    flags, validity, highest = await in_thread(before)
    await server.running.stop()
    user_dir = server.running.context.store.user_dir("user1")
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(index_path(user_dir) + suffix):
            os.unlink(index_path(user_dir) + suffix)
    server = await start(data_dir=data_dir)

    def after() -> None:
        conn = _login(server.port)
        _ok(conn, b"q", b"ENABLE QRESYNC")
        lines = _ok(conn, b"s", b"SELECT Chats (QRESYNC (%d %d))" % (validity, highest))
        assert b"UIDVALIDITY %d" % validity in b"".join(lines)
        resent = [line for line in lines if b" FETCH " in line]
        assert len(resent) == 4  # every message, since every MODSEQ is new
        assert not any(line.startswith(b"* VANISHED") for line in lines)
        # \Recent is per session (RFC 3501 §2.3.2): the first session saw them new.
        assert _ok(conn, b"g", b"FETCH 1:* (UID FLAGS)") == [line.replace(b" \\Recent", b"") for line in flags]
        assert _ok(conn, b"h", b"GETACL Chats")[0] == b"* ACL Chats user2 lrs user1 lrwstipekxacd"
        assert b'"family"' in _ok(conn, b"i", b"GETMETADATA Chats /private/comment")[0]
        assert _ok(conn, b"j", b'LSUB "" "*"')[0].endswith(b" Chats")
        conn.close()

    await in_thread(after)
