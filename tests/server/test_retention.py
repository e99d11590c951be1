"""Retention of \\Deleted messages (``[cpm] expunge_deleted_after``): a
\\Deleted message stays visible until the period is over, then the server
expunges it as a client's EXPUNGE would (RFC 3501 §6.4.3, §7.4.1; RFC 7162
§3.1.4.1 CHANGEDSINCE and §3.2.10 VANISHED).

The job's clock is the test's: ``job.now`` is moved past the period instead
of sleeping through it."""

from __future__ import annotations

import re
import sqlite3
import time
from datetime import datetime

import pytest_twisted
from transcript import LOGIN, Connection, run
from twisted.internet.task import Clock
# Not conftest's in_thread: run beside tests/store, "conftest" is another module.
from twisted.internet.threads import deferToThread as in_thread

from cpmstore.config import CpmConfig
from cpmstore.store import schema
from cpmstore.store.retention import RetentionService, retention_interval

PERIOD = "1h"
LATER = 3600 + 5  # seconds: past the period


def retention(server):
    return server.running.service.getServiceNamed("retention")


def fill(port: int, folder: str, count: int, user: str = "user1") -> None:
    lines = f"S: * OK ...\nC: a0 LOGIN {user} pass\nS: a0 OK ...\nC: f1 CREATE {folder}\nS: f1 OK ...\n"
    for i in range(count):
        lines += f"C: f{i + 2} APPEND {folder} {{6+}}\nC: body {i}\nS: f{i + 2} OK ...\n"
    run(port, lines).close()


def select(port: int, folder: str, qresync: bool = False, user: str = "user1") -> Connection:
    script = LOGIN.replace("user1", user) + ("C: e1 ENABLE QRESYNC\nS: * ENABLED QRESYNC\nS: e1 OK ...\n" if qresync else "")
    conn = run(port, script)
    lines = conn.command(b"s1", b"SELECT " + folder.encode() + (b" (CONDSTORE)" if not qresync else b""))
    assert lines[-1].startswith(b"s1 OK [READ-WRITE]")
    return conn


def highest_modseq(conn: Connection, folder: str) -> int:
    status = conn.command(b"h1", b"STATUS " + folder.encode() + b" (HIGHESTMODSEQ)")[0]
    return int(re.search(rb"HIGHESTMODSEQ (\d+)", status).group(1))


@pytest_twisted.async_yield_fixture
async def server(start):
    yield await start(cpm=CpmConfig(PERIOD))


@pytest_twisted.ensureDeferred
async def test_rfc3501_6_4_3_deleted_message_stays_until_period_then_expunged(server):
    job = retention(server).job
    state = {}

    def before():
        fill(server.port, "ret", 3)
        watcher = select(server.port, "ret")
        state["watcher"] = watcher
        state["modseq"] = highest_modseq(watcher, "ret")
        assert watcher.command(b"a1", b"STORE 2 +FLAGS.SILENT (\\Deleted)")[-1].startswith(b"a1 OK")

    await in_thread(before)
    assert await job.run_once() == {}

    def still_there():
        watcher = state["watcher"]
        lines = watcher.command(b"a2", b"UID FETCH 2 (FLAGS BODY.PEEK[])")
        assert re.fullmatch(rb"\* 2 FETCH \(UID 2 FLAGS \(\\Deleted \\Recent\) BODY\[\] \{6\}\r\nbody 1\)", lines[0])
        assert watcher.command(b"a3", b"NOOP") == [b"a3 OK NOOP completed."]
        # A client that never expunges learns of the deletion through CHANGEDSINCE.
        changed = watcher.command(b"a4", b"UID FETCH 1:* (FLAGS) (CHANGEDSINCE %d)" % state["modseq"])
        assert re.fullmatch(rb"\* 2 FETCH \(UID 2 FLAGS \(\\Deleted \\Recent\) MODSEQ \(\d+\)\)", changed[0])
        assert len(changed) == 2
        state["deleted_modseq"] = highest_modseq(watcher, "ret")

    await in_thread(still_there)
    job.now = lambda: time.time() + LATER
    assert await job.run_once() == {"user1": {"ret": 1}}

    def after():
        watcher = state["watcher"]
        # As another session's EXPUNGE would show it (RFC 3501 §7.4.1), the RECENT count after it.
        assert watcher.command(b"a5", b"NOOP") == [b"* 2 EXPUNGE", b"* 2 RECENT", b"a5 OK NOOP completed."]
        assert watcher.command(b"a6", b"UID FETCH 1:* (UID)")[:-1] == [b"* 1 FETCH (UID 1)", b"* 2 FETCH (UID 3)"]
        # The expunge took a MODSEQ of its own, above the \Deleted change.
        assert highest_modseq(watcher, "ret") > state["deleted_modseq"]
        resync = select(server.port, "ret", qresync=True)
        lines = resync.command(b"f1", b"UID FETCH 1:* (FLAGS) (CHANGEDSINCE %d VANISHED)" % state["deleted_modseq"])
        assert lines == [b"* VANISHED (EARLIER) 2", b"f1 OK Fetch completed."]
        for conn in (watcher, resync):
            conn.close()

    await in_thread(after)
    assert await job.run_once() == {}


@pytest_twisted.ensureDeferred
async def test_rfc7162_3_2_10_qresync_session_gets_vanished(server):
    job = retention(server).job
    state = {}

    def before():
        fill(server.port, "retq", 4)
        state["watcher"] = select(server.port, "retq", qresync=True)
        state["watcher"].command(b"a1", b"STORE 1,3 +FLAGS.SILENT (\\Deleted)")

    await in_thread(before)
    job.now = lambda: time.time() + LATER
    assert await job.run_once() == {"user1": {"retq": 2}}

    def after():
        lines = state["watcher"].command(b"a2", b"NOOP")
        # RFC 7162 §3.2.10: VANISHED in place of EXPUNGE (the RECENT count follows).
        assert lines[0] == b"* VANISHED 1,3" and lines[-1] == b"a2 OK NOOP completed."
        assert not any(b"EXPUNGE" in line for line in lines)
        state["watcher"].close()

    await in_thread(after)


@pytest_twisted.ensureDeferred
async def test_deleted_flag_removed_again_is_kept_and_readding_restarts_the_clock(server):
    job = retention(server).job
    store = server.running.context.store

    def before():
        fill(server.port, "undel", 3)
        conn = select(server.port, "undel")
        conn.command(b"a1", b"STORE 1:3 +FLAGS.SILENT (\\Deleted)")
        conn.command(b"a2", b"STORE 2 -FLAGS.SILENT (\\Deleted)")
        # Another flag on a \Deleted message does not restart its clock.
        conn.command(b"a3", b"STORE 3 +FLAGS.SILENT (\\Seen)")
        conn.close()

    await in_thread(before)
    user = store.loaded_account("user1")
    stamps = dict(await user.queue.run(lambda: user.index.connection.execute(
        "SELECT m.uid, m.deleted_at FROM messages m JOIN mailboxes b ON b.id = m.mailbox_id "
        "WHERE b.name = 'undel'").fetchall()))
    assert stamps[2] is None and stamps[1] is not None and stamps[3] is not None
    job.now = lambda: time.time() + LATER
    assert await job.run_once() == {"user1": {"undel": 2}}

    def after():
        conn = select(server.port, "undel")
        assert conn.command(b"a4", b"UID FETCH 1:* (FLAGS)")[:-1] == [b"* 1 FETCH (UID 2 FLAGS ())"]
        conn.close()

    await in_thread(after)


@pytest_twisted.ensureDeferred
async def test_append_and_copy_with_deleted_start_their_clock_in_the_target(server):
    job = retention(server).job

    def scenario():
        run(server.port, LOGIN + """
            C: a1 CREATE src
            S: a1 OK ...
            C: a2 CREATE dst
            S: a2 OK ...
            C: a3 APPEND src (\\Deleted) {5+}
            C: gone!
            S: a3 OK ...
        """).close()
        conn = select(server.port, "src")
        assert conn.command(b"a5", b"COPY 1 dst")[-1].startswith(b"a5 OK")
        conn.close()

    await in_thread(scenario)
    # Due only once the period is over since the APPEND and the COPY.
    job.now = lambda: time.time() + 60
    assert await job.run_once() == {}
    job.now = lambda: time.time() + LATER
    assert await job.run_once() == {"user1": {"dst": 1, "src": 1}}


@pytest_twisted.ensureDeferred
async def test_stores_not_open_in_this_process_are_expunged_too(start, tmp_path):
    first = await start(cpm=CpmConfig(PERIOD))

    def scenario():
        fill(first.port, "closed", 2, user="user2")
        conn = select(first.port, "closed", user="user2")
        assert conn.command(b"a2", b"STORE 2 +FLAGS.SILENT (\\Deleted)")[-1].startswith(b"a2 OK")
        conn.close()

    await in_thread(scenario)
    await first.running.stop()
    second = await start(tmp_path / "data", cpm=CpmConfig(PERIOD))
    store = second.running.context.store
    job = retention(second).job
    assert store.loaded_account("user2") is None
    # Nothing due: the store is looked at, not opened.
    assert await job.run_once() == {}
    assert store.loaded_account("user2") is None
    job.now = lambda: time.time() + LATER
    assert await job.run_once() == {"user2": {"closed": 1}}


@pytest_twisted.ensureDeferred
async def test_service_runs_job_every_interval_of_its_clock(server):
    clock = Clock()
    service = RetentionService(server.running.context.store, 20, clock=clock, now=lambda: time.time() + 60)
    assert service.interval == 2.0

    def scenario():
        fill(server.port, "timer", 1)
        conn = select(server.port, "timer")
        assert conn.command(b"a2", b"STORE 1 +FLAGS.SILENT (\\Deleted)")[-1].startswith(b"a2 OK")
        conn.close()

    await in_thread(scenario)
    account = server.running.context.store.loaded_account("user1")
    service.startService()
    clock.advance(1.9)  # not yet: the first run is one interval after the start
    assert (await account.status("timer")).messages == 1
    clock.advance(0.1)
    assert service.in_progress is not None
    await service.in_progress
    assert (await account.status("timer")).messages == 0
    # Stopping in the middle of a pass waits for it, and it ends before the next user.
    clock.advance(2.0)
    running = service.in_progress
    await service.stopService()
    assert running is not None and running.called and service.job.stopping


@pytest_twisted.ensureDeferred
async def test_service_is_in_the_tree_only_when_configured(start, tmp_path):
    configured = await start(tmp_path / "a", cpm=CpmConfig("30d"))
    assert retention(configured).interval == 3600
    plain = await start(tmp_path / "b")
    assert "retention" not in plain.running.service.namedServices
    assert [retention_interval(p) for p in (1, 45, 600, 30 * 86400)] == [1.0, 4.5, 60.0, 3600.0]


def test_migration_counts_already_deleted_messages_from_the_migration(tmp_path):
    path = str(tmp_path / "index.sqlite3")
    conn = sqlite3.connect(path, isolation_level=None)
    for script in schema.MIGRATIONS[:4]:
        for statement in schema._statements(script):
            conn.execute(statement)
    conn.execute("PRAGMA user_version=4")
    for uid, flags in ((1, "\\Deleted \\Seen"), (2, "\\Seen")):
        conn.execute("INSERT INTO messages (mailbox_id, uid, modseq, flags, size, filename, internaldate) "
                     "VALUES (1, ?, 1, ?, 1, 'f', '2020-01-01T00:00:00+00:00')", (uid, flags))
    before = time.time()
    schema.migrate(conn)
    rows = dict(conn.execute("SELECT uid, deleted_at FROM messages"))
    assert rows[2] is None
    assert before - 1 <= datetime.fromisoformat(rows[1]).timestamp() <= time.time() + 1
    conn.close()
