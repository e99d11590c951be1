"""Idle accounts are closed (``[server] unload_idle_after``) and opened again
from disk on the next use, with nothing lost; an account a session still
uses (logged in, or a folder of it selected by another user) stays open."""

import re
import time

import pytest_twisted
from conftest import in_thread
from transcript import LOGIN, run

from cpmstore.store.rebuild import INDEX_FILE


def login(port: int, user: str):
    return run(port, f"""
        S: * OK ...
        C: a0 LOGIN {user} pass
        S: a0 OK ...
    """)


def wait_until(condition, what: str, limit: float = 30.0) -> None:
    """Poll, not time: the job runs every second; the limit only stops a hang."""
    deadline = time.monotonic() + limit
    while not condition():
        assert time.monotonic() < deadline, f"never happened: {what}"
        time.sleep(0.1)


@pytest_twisted.async_fixture
async def unloading(start):
    """A server that closes accounts idle for a second (the job runs every second)."""
    return await start(unload_idle_after="1s")


@pytest_twisted.ensureDeferred
async def test_an_idle_account_is_closed_and_reopened_with_everything(unloading):
    server, store = unloading, unloading.running.context.store

    def scenario():
        conn = run(server.port, LOGIN + """
            C: a1 CREATE kept
            S: a1 OK ...
            C: a2 APPEND kept {2+}
            C: m1
            S: a2 OK [APPENDUID ... 1] ...
            C: a3 APPEND kept (\\Flagged) {2+}
            C: m2
            S: a3 OK [APPENDUID ... 2] ...
        """)
        before = conn.command(b"s1", b"STATUS kept (MESSAGES UIDNEXT UIDVALIDITY HIGHESTMODSEQ)")[0]
        # Logged in and idle: the session keeps its account open.
        time.sleep(3)
        assert store.loaded_account("user1") is not None
        conn.command(b"z", b"LOGOUT")
        wait_until(lambda: store.loaded_account("user1") is None, "user1's account closed")
        # Its last act was a backup of the index.
        assert (server.data_dir / "users" / "user1" / (INDEX_FILE + ".backup")).exists()
        again = login(server.port, "user1")
        assert again.command(b"s2", b"STATUS kept (MESSAGES UIDNEXT UIDVALIDITY HIGHESTMODSEQ)")[0] == before
        again.command(b"s3", b"SELECT kept")
        assert again.command(b"f1", b"UID FETCH 1:* (FLAGS)")[:2] == [
            b"* 1 FETCH (UID 1 FLAGS ())", b"* 2 FETCH (UID 2 FLAGS (\\Flagged))"]
        appended = again.command(b"a4", b"APPEND kept {2+}\r\nm3")
        assert re.search(rb"APPENDUID \d+ 3\]", appended[-1])

    await in_thread(scenario)


@pytest_twisted.ensureDeferred
async def test_a_folder_selected_by_another_user_keeps_its_owner_open(unloading):
    server, store = unloading, unloading.running.context.store

    def scenario():
        owner = run(server.port, LOGIN + """
            C: a1 CREATE team
            S: a1 OK ...
            C: a2 SETACL team user2 lrs
            S: a2 OK ...
            C: a3 LOGOUT
            S: * BYE ...
            S: a3 OK ...
        """)
        owner.close()
        reader = login(server.port, "user2")
        reader.command(b"s1", b'SELECT "Other Users/user1/team"')
        time.sleep(3)
        assert store.loaded_account("user1") is not None
        # It still hears user1's changes live, from the same account object.
        writer = login(server.port, "user1")
        writer.command(b"a4", b"APPEND team {2+}\r\nm1")
        writer.command(b"a5", b"LOGOUT")
        assert b"* 1 EXISTS" in reader.command(b"n1", b"NOOP")
        reader.command(b"c1", b"CLOSE")
        wait_until(lambda: store.loaded_account("user1") is None, "user1's account closed after CLOSE")
        assert store.loaded_account("user2") is not None  # user2 is still logged in

    await in_thread(scenario)
