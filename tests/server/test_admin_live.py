"""cpmstore-admin against a running server: the control socket (mode 0600,
refused paths, removed on stop), server.lock, who and kick, and store changes
made by the server itself so connected clients hear of them (an IDLE client
gets ``* n EXPUNGE``, RFC 2177 / RFC 3501 §7.4.1)."""

from __future__ import annotations

import imaplib
import os
import re
import socket
import stat
from datetime import datetime, timezone
from pathlib import Path

import pytest
import pytest_twisted
from conftest import in_thread
from imapclient import IMAPClient
from twisted.internet.error import CannotListenError
from transcript import run

from admin_cli import admin, write_config

from cpmstore.config import ConfigError
from cpmstore.server.control import ControlError, DataDirLock, call

SELECTED_IDLE = """
    S: * OK ...
    C: a0 LOGIN {user} pass
    S: a0 OK ...
    C: s1 SELECT INBOX
    S: * FLAGS ...
    S: * OK [PERMANENTFLAGS ...
    S: * {exists} EXISTS
    S: * ... RECENT{unseen}
    S: * OK [UIDVALIDITY ...
    S: * OK [UIDNEXT ...
    S: * OK [HIGHESTMODSEQ ...] ...
    S: s1 OK [READ-WRITE] Select completed.
    C: i1 IDLE
    S: + idling
"""


def selected_idle(user: str, exists: int) -> str:
    """Log in, SELECT INBOX holding ``exists`` messages (the first unseen), IDLE."""
    unseen = "\n    S: * OK [UNSEEN ..." if exists else ""
    return SELECTED_IDLE.format(user=user, exists=exists, unseen=unseen)


@pytest.fixture
def config_file(tmp_path: Path, users_file: str) -> Path:
    """The configuration the ``start`` fixture's server runs with, as a file."""
    return write_config(tmp_path, users_file)


def table(text: str) -> list[list[str]]:
    return [re.split(r"\s{2,}", line.strip()) for line in text.splitlines()]


@pytest_twisted.ensureDeferred
async def test_control_socket_is_0600_and_removed_on_stop(start, tmp_path: Path) -> None:
    server = await start()
    path = tmp_path / "data" / "control.sock"
    mode = os.lstat(path).st_mode
    assert stat.S_ISSOCK(mode)
    assert stat.S_IMODE(mode) == 0o600
    await server.running.stop()
    assert not path.exists()


@pytest_twisted.ensureDeferred
async def test_start_refused_for_a_non_socket_path_or_a_held_lock(start, tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "control.sock").write_text("not a socket")
    with pytest.raises(ConfigError, match="control.sock exists and is not a socket; refusing to replace it"):
        await start()
    assert (data / "control.sock").read_text() == "not a socket"
    (data / "control.sock").unlink()
    # A socket left by a server that died is replaced.
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(str(data / "control.sock"))
    stale.close()
    lock = DataDirLock.try_take(str(data))
    assert lock is not None
    with pytest.raises(ConfigError, match="is in use by another cpmstore server or cpmstore-admin"):
        await start()
    lock.release()
    with pytest.raises(CannotListenError):
        await start(control_socket=str(tmp_path / "missing" / "control.sock"))
    server = await start()  # the failed starts left no lock behind
    assert stat.S_ISSOCK(os.lstat(data / "control.sock").st_mode)
    assert DataDirLock.try_take(str(data)) is None
    other = tmp_path / "elsewhere"
    with pytest.raises(ConfigError, match="another server answers on"):
        await start(data_dir=other, control_socket=str(data / "control.sock"))
    await server.running.stop()
    assert DataDirLock.try_take(str(data)) is not None


@pytest_twisted.ensureDeferred
async def test_who_and_kick(start, config_file: Path) -> None:
    server = await start()

    def scenario() -> None:
        connecting = datetime.now(timezone.utc).replace(microsecond=0)
        idler = run(server.port, selected_idle("user1", 0))
        other = run(server.port, """
            S: * OK ...
            C: a0 LOGIN user2 pass
            S: a0 OK ...
        """)
        run(server.port, "S: * OK ...")  # connected, not logged in: nobody's session
        code, out, err = admin(config_file, "who")
        assert (code, err) == (0, "")
        rows = table(out)
        assert rows[0] == ["USER", "REMOTE", "LISTENER", "MAILBOX", "STATE", "SINCE"]
        local = {conn.sock.getsockname()[1]: name for conn, name in ((idler, "user1"), (other, "user2"))}
        assert sorted(row[0] for row in rows[1:]) == ["user1", "user2"]
        for user, remote, listener, mailbox, state, since in rows[1:]:
            host, port = remote.rsplit(":", 1)
            assert (host, local[int(port)]) == ("127.0.0.1", user)
            assert listener == "tcp:0:interface=127.0.0.1"
            assert (mailbox, state) == (("INBOX", "idle") if user == "user1" else ("-", "-"))
            assert connecting <= datetime.fromisoformat(since) <= datetime.now(timezone.utc)
        assert table(admin(config_file, "who", "user2")[1])[1][0] == "user2"

        assert admin(config_file, "kick", "user1") == (0, "closed 1 session(s) of user1\n", "")
        assert idler.read_line() == b"* BYE Disconnected by the administrator."
        with pytest.raises(ConnectionError):
            idler.read_line()
        assert [row[0] for row in table(admin(config_file, "who")[1])[1:]] == ["user2"]
        assert admin(config_file, "kick", "user1") == (1, "", "cpmstore-admin: user1 has no sessions\n")
        run(server.port, """
            C: n1 NOOP
            S: n1 OK ...
        """, conn=other)

    await in_thread(scenario)


@pytest_twisted.ensureDeferred
async def test_expunge_through_the_control_socket_reaches_an_idle_client(start, config_file: Path) -> None:
    server = await start()

    def scenario() -> None:
        client = imaplib.IMAP4("127.0.0.1", server.port)
        client.login("user1", "pass")
        for i, date in enumerate(('"01-Jan-2020 10:00:00 +0000"', '"01-Mar-2024 10:00:00 +0000"',
                                  '"02-Mar-2024 10:00:00 +0000"')):
            assert client.append("INBOX", None, date, b"Subject: %d\r\n\r\nbody\r\n" % i)[0] == "OK"
        client.select("INBOX")
        client.store("2", "+FLAGS.SILENT", "(\\Deleted)")
        idler = run(server.port, selected_idle("user1", 3))

        assert admin(config_file, "expunge", "user1", "INBOX", "--deleted") == (
            0, "expunged 1 message(s) from INBOX of user1\n", "")
        run(server.port, "S: * 2 EXPUNGE", conn=idler)
        # --before: flagged \Deleted and expunged, as a client's STORE and EXPUNGE.
        assert admin(config_file, "expunge", "user1", "INBOX", "--before", "2024-01-01")[1] == (
            "expunged 1 message(s) from INBOX of user1\n")
        run(server.port, """
            S: * 1 FETCH (FLAGS (\\Deleted))
            S: * 1 EXPUNGE
            C: DONE
            S: i1 OK Idle completed.
        """, conn=idler)
        assert client.noop()[0] == "OK"
        assert client.uid("SEARCH", "ALL")[1] == [b"3"]
        client.logout()

    await in_thread(scenario)


@pytest_twisted.ensureDeferred
async def test_mailbox_commands_through_the_control_socket(start, config_file: Path) -> None:
    server = await start()

    def scenario() -> None:
        client = IMAPClient("127.0.0.1", server.port, ssl=False)
        client.login("user1", "pass")
        client.append("INBOX", b"Subject: hi\r\n\r\nhello\r\n", flags=[b"\\Seen"])
        assert admin(config_file, "mailbox", "create", "user1", "Chats/Café")[0] == 0
        assert [f[2] for f in client.list_folders()] == ["Chats", "Chats/Café", "INBOX"]
        code, out, _ = admin(config_file, "mailbox", "status", "user1")
        assert code == 0
        rows = {row[0]: row[1:] for row in table(out)[1:]}
        for name in ("INBOX", "Chats/Café"):
            status = client.folder_status(name, [b"MESSAGES", b"UIDVALIDITY", b"UIDNEXT", b"HIGHESTMODSEQ", b"SIZE"])
            assert rows[name] == [str(status[key]) for key in
                                  (b"MESSAGES", b"UIDVALIDITY", b"UIDNEXT", b"HIGHESTMODSEQ", b"SIZE")]
        assert admin(config_file, "mailbox", "list", "user1")[1] == "Chats\nChats/Café\nINBOX\n"
        # A session with the folder selected hears of the delete (server's BYE).
        watcher = run(server.port, """
            S: * OK ...
            C: a0 LOGIN user1 pass
            S: a0 OK ...
            C: s1 SELECT Chats/Caf&AOk-
        """)
        while not watcher.read_line().startswith(b"s1 OK"):
            pass
        assert admin(config_file, "mailbox", "delete", "user1", "Chats/Café") == (
            0, "mailbox Chats/Café of user1 deleted\n", "")
        run(server.port, """
            C: n1 NOOP
            S: * BYE Selected mailbox was deleted, please log in again.
        """, conn=watcher)
        assert [f[2] for f in client.list_folders()] == ["Chats", "INBOX"]
        assert admin(config_file, "mailbox", "delete", "user1", "Nothing") == (
            1, "", "cpmstore-admin: Nothing: Mailbox doesn't exist\n")
        client.logout()

    await in_thread(scenario)


def _contents(port: int, user: str) -> dict[str, list[tuple]]:
    """folder -> (flags, INTERNALDATE as UTC, bytes) of each message, in UID order."""
    client = IMAPClient("127.0.0.1", port, ssl=False)
    client.login(user, "pass")
    found = {}
    for _, _, name in client.list_folders():
        client.select_folder(name, readonly=True)
        fetched = client.fetch(client.search("ALL"), ["FLAGS", "INTERNALDATE", "BODY.PEEK[]"])
        found[name] = [(sorted(f for f in data[b"FLAGS"] if f != b"\\Recent"),
                        data[b"INTERNALDATE"].astimezone(timezone.utc), data[b"BODY[]"])
                       for _, data in sorted(fetched.items())]
    client.logout()
    return found


@pytest_twisted.ensureDeferred
async def test_export_and_import_through_the_running_server(start, config_file: Path, tmp_path: Path) -> None:
    server = await start()

    def scenario() -> None:
        client = IMAPClient("127.0.0.1", server.port, ssl=False)
        client.login("user1", "pass")
        client.create_folder("Chats/Café")
        when = datetime(2021, 5, 6, 7, 8, 9, tzinfo=timezone.utc)
        client.append("INBOX", b"Subject: a\r\n\r\none\r\n", flags=[b"\\Seen", b"\\Flagged", b"$Work"], msg_time=when)
        client.append("INBOX", b"Subject: b\r\n\r\ntwo\r\n", flags=[b"\\Answered", b"\\Draft"])
        client.append("Chats/Café", b"Subject: c\r\n\r\nthree\r\n", flags=[b"\\read-report-sent", b"$CPM"],
                      msg_time=when)
        client.append("Chats/Café", b"Subject: d\r\n\r\nfour\r\n", flags=[b"\\Deleted"])
        client.logout()
        watcher = run(server.port, selected_idle("user2", 0))

        code, out, err = admin(config_file, "export", "user1", str(tmp_path / "export"))
        assert (code, err) == (0, "")
        assert out.startswith("exported 4 message(s), ")
        assert sorted(os.listdir(tmp_path / "export")) == [".Chats", ".Chats.Caf&AOk-", "cur", "dovecot-keywords",
                                                           "new", "tmp"]
        code, out, err = admin(config_file, "import", "user2", str(tmp_path / "export"))
        assert (code, err) == (0, "")
        assert out.startswith("imported 4 message(s), ")
        # The import appended through the server: the IDLE session saw it
        # (after a FLAGS line for the keywords that came with it).
        while watcher.read_line() != b"* 2 EXISTS":
            pass
        run(server.port, """
            S: * 2 RECENT
            C: DONE
            S: i1 OK Idle completed.
        """, conn=watcher)
        original = _contents(server.port, "user1")
        assert [len(original[name]) for name in ("Chats", "Chats/Café", "INBOX")] == [0, 2, 2]
        assert _contents(server.port, "user2") == original

    await in_thread(scenario)


@pytest_twisted.ensureDeferred
async def test_index_rebuild_and_dovecot_import_refused_while_the_server_runs(start, config_file: Path,
                                                                              tmp_path: Path) -> None:
    server = await start()

    def scenario() -> None:
        client = IMAPClient("127.0.0.1", server.port, ssl=False)
        client.login("user1", "pass")
        client.logout()
        for argv in (["index", "rebuild", "user1"], ["import", "dovecot-maildir", "user1", str(tmp_path)]):
            code, out, err = admin(config_file, *argv)
            assert (code, out) == (1, "")
            assert "(it holds server.lock): stop the server first" in err

    await in_thread(scenario)
    await server.running.stop()
    assert admin(config_file, "index", "rebuild", "user1")[0] == 0


@pytest_twisted.ensureDeferred
async def test_control_protocol_answers_bad_requests_with_an_error(start, tmp_path: Path) -> None:
    await start()
    path = str(tmp_path / "data" / "control.sock")

    def scenario() -> None:
        with pytest.raises(ControlError, match="unknown operation 'frobnicate'"):
            call(path, "frobnicate")
        with pytest.raises(ControlError, match="^mailbox-create: missing a required argument: 'name'"):
            call(path, "mailbox-create", {"user": "user1"})
        with pytest.raises(ControlError, match="^no data for user nobody$"):
            call(path, "mailbox-list", {"user": "nobody"})
        with socket.socket(socket.AF_UNIX) as raw:
            raw.settimeout(10)
            raw.connect(path)
            raw.sendall(b'not json\n{"op": "who"}\n')
            answers = raw.makefile("rb")
            assert answers.readline().startswith(b'{"ok": false, "error": "Expecting value')
            assert answers.readline() == b'{"ok": true, "result": []}\n'

    await in_thread(scenario)
