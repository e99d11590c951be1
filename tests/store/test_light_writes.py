"""fsync = "optimized": small flag changes and expunges commit on the reactor
thread (DESIGN §4), and whatever may wait for the disk or a lock still runs
in a store thread.

Which thread ran a statement is seen through SQLite's own trace callback on
the user's index connection."""

from __future__ import annotations

import os
import sqlite3
import threading

import pytest_twisted
from twisted.internet import reactor
from twisted.internet.task import deferLater

from cpmstore.store import account as account_module
from cpmstore.store import index as index_module
from cpmstore.store.rebuild import index_path
from cpmstore.store.store import MaildirStore


def message(n: int) -> bytes:
    return b"Subject: message %d\r\n\r\nbody %d\r\n" % (n, n)


class Statements:
    """(on the reactor thread?, SQL) of every statement the index runs."""

    def __init__(self, account) -> None:
        self.seen: list[tuple[bool, str]] = []
        here = threading.get_ident()
        account.index.connection.set_trace_callback(
            lambda sql: self.seen.append((threading.get_ident() == here, sql)))

    def take(self) -> list[tuple[bool, str]]:
        taken, self.seen = self.seen, []
        return taken

    def commits(self) -> list[bool]:
        """For each COMMIT since the last take: whether it ran on the reactor thread."""
        return [here for here, sql in self.take() if sql == "COMMIT"]


async def inbox_of(account, count: int):
    await account.append("INBOX", [(message(n), (), None) for n in range(1, count + 1)])
    return await account.open_mailbox("INBOX")


async def drained(account) -> None:
    """Every operation queued for the user so far has run."""
    await account.queue.run(lambda: None)


@pytest_twisted.ensureDeferred
async def test_small_flag_changes_commit_on_the_reactor_thread_and_big_ones_in_a_store_thread(optimized):
    inbox = await inbox_of(optimized, account_module.LIGHT_WRITE_MESSAGES + 1)
    statements = Statements(optimized)
    await inbox.store_flags([1], "+", ("\\Seen",))
    assert statements.commits() == [True]
    await inbox.store_flags(list(range(1, account_module.LIGHT_WRITE_MESSAGES + 1)), "+", ("\\Flagged",))
    assert statements.commits() == [True]
    await inbox.store_flags(list(inbox.uids), "+", ("\\Answered",))
    assert statements.commits() == [False]


@pytest_twisted.ensureDeferred
async def test_with_fsync_always_every_flag_change_commits_in_a_store_thread(account):
    inbox = await inbox_of(account, 2)
    statements = Statements(account)
    await inbox.store_flags([1], "+", ("\\Seen",))
    assert statements.commits() == [False]


@pytest_twisted.ensureDeferred
async def test_a_light_commit_survives_a_reopen(data_dir):
    store = MaildirStore(data_dir, fsync="optimized")
    inbox = await inbox_of(await store.account("alice"), 3)
    await inbox.store_flags([2], "+", ("\\Flagged",))
    changed = inbox.modseq_of(2)
    await store.close()
    again = MaildirStore(data_dir, fsync="optimized")
    try:
        inbox = await (await again.account("alice")).open_mailbox("INBOX")
        assert "\\Flagged" in inbox.flags_of(2) and inbox.modseq_of(2) == changed
    finally:
        await again.close()


@pytest_twisted.ensureDeferred
async def test_a_light_write_needing_a_new_block_of_modseqs_is_synced_in_a_store_thread(optimized):
    optimized.index.modseq_reserve = 20
    inbox = await inbox_of(optimized, 5)
    statements = Statements(optimized)
    reserved = optimized.index.modseq_reserved
    while inbox.highest_modseq + 5 <= reserved:
        await inbox.store_flags(list(inbox.uids), "+" if "\\Seen" not in inbox.flags_of(1) else "-", ("\\Seen",))
    assert set(statements.commits()) == {True}
    await inbox.store_flags(list(inbox.uids), "+" if "\\Seen" not in inbox.flags_of(1) else "-", ("\\Seen",))
    # Tried here, rolled back on finding that it opens a block, then committed in a thread.
    seen = statements.take()
    assert (True, "ROLLBACK") in seen and [here for here, sql in seen if sql == "COMMIT"] == [False]
    assert optimized.index.modseq_reserved > reserved


@pytest_twisted.ensureDeferred
async def test_a_write_lock_held_elsewhere_is_waited_for_in_a_store_thread_not_the_reactor(optimized):
    inbox = await inbox_of(optimized, 2)
    other = sqlite3.connect(index_path(optimized.user_dir), isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    # The reactor must stay free to run this while the STORE waits for the lock.
    released = deferLater(reactor, 0.3, other.execute, "ROLLBACK")
    statements = Statements(optimized)
    changes = await inbox.store_flags([1], "+", ("\\Seen",))
    await released
    other.close()
    assert [uid for uid, _, _ in changes] == [1] and "\\Seen" in inbox.flags_of(1)
    seen = statements.take()
    # The reactor thread's BEGIN was told not to wait for the lock at all.
    tried = seen.index((True, "BEGIN IMMEDIATE"))
    assert [sql for here, sql in seen[:tried] if "busy_timeout" in sql][-1:] == ["PRAGMA busy_timeout=0"]
    assert [here for here, sql in seen if sql == "COMMIT"] == [False]


@pytest_twisted.ensureDeferred
async def test_the_wal_is_checkpointed_by_a_store_thread_never_by_a_light_commit(optimized, monkeypatch):
    monkeypatch.setattr(index_module, "CHECKPOINT_COMMITS", 10)
    assert optimized.index.connection.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 0
    inbox = await inbox_of(optimized, 2)
    before = inbox.highest_modseq
    statements = Statements(optimized)
    for n in range(12):
        await inbox.store_flags([1], "+" if n % 2 == 0 else "-", ("\\Seen",))
    await drained(optimized)
    checkpoints = [here for here, sql in statements.take() if "wal_checkpoint" in sql]
    assert checkpoints == [False]
    # What the light commits wrote reached the database file itself.
    database = sqlite3.connect(f"file:{index_path(optimized.user_dir)}?immutable=1", uri=True)
    try:
        [(counter,)] = database.execute("SELECT value FROM modseq WHERE id = 1").fetchall()
    finally:
        database.close()
    assert before < counter <= inbox.highest_modseq


@pytest_twisted.ensureDeferred
async def test_a_light_expunge_answers_first_and_a_store_thread_removes_the_files(optimized):
    inbox = await inbox_of(optimized, 3)
    await inbox.store_flags([1, 2], "+", ("\\Deleted",))
    files = [inbox.path(uid) for uid in (1, 2)]
    statements = Statements(optimized)
    assert await inbox.expunge() == [1, 2]
    assert statements.commits() == [True]
    assert list(inbox.uids) == [3]
    await drained(optimized)
    assert not any(os.path.exists(path) for path in files)
    assert os.path.exists(inbox.path(3))
    assert await inbox.expunged_since(0) == [1, 2]


@pytest_twisted.ensureDeferred
async def test_a_failed_checkpoint_does_not_undo_the_write_it_follows(optimized, monkeypatch):
    monkeypatch.setattr(index_module, "CHECKPOINT_COMMITS", 2)

    def no_checkpoint(action, name, *_):
        # SQLite refuses the statement as it would any failing one: a real error from the real connection.
        refused = action == sqlite3.SQLITE_PRAGMA and name == "wal_checkpoint"
        return sqlite3.SQLITE_DENY if refused else sqlite3.SQLITE_OK

    optimized.index.connection.set_authorizer(no_checkpoint)
    for n in range(1, 5):
        await optimized.append("INBOX", [(message(n), (), None)])  # each commit past the second tries one
    optimized.index.connection.set_authorizer(None)
    inbox = await optimized.open_mailbox("INBOX")
    assert list(inbox.uids) == [1, 2, 3, 4]
    assert all(os.path.exists(inbox.path(uid)) for uid in inbox.uids)
