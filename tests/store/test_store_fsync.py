"""[server] fsync = "optimized": which commits are synced, and what a power cut may undo.

A power cut keeps what was synced and may drop anything written after. The
tests make the worst case of that by copying the index files at a point
where everything written so far was synced (an APPEND has just returned)
and putting the copy back after more light commits, as if those had never
reached the disk."""

from __future__ import annotations

import os
import shutil

import pytest_twisted

from cpmstore.store.rebuild import index_path
from cpmstore.store.store import MaildirStore

INDEX_FILES = ("", "-wal")


def message(n: int) -> bytes:
    return b"Subject: message %d\r\n\r\nbody %d\r\n" % (n, n)


def copy_index(user_dir: str, to: str) -> None:
    os.makedirs(to)
    for suffix in INDEX_FILES:
        source = index_path(user_dir) + suffix
        if os.path.exists(source):
            shutil.copy2(source, os.path.join(to, os.path.basename(source)))


def put_back_index(user_dir: str, saved: str) -> None:
    """The index as it was when ``copy_index`` ran: later commits lost."""
    for suffix in INDEX_FILES + ("-shm",):
        path = index_path(user_dir) + suffix
        if os.path.exists(path):
            os.remove(path)
    for name in os.listdir(saved):
        shutil.copy2(os.path.join(saved, name), os.path.join(os.path.dirname(index_path(user_dir)), name))


async def three_synced_messages(data_dir: str, saved: str):
    """A store with INBOX holding UIDs 1-3, just appended (so synced), and
    the index copied to ``saved``: (store, INBOX, the user's directory)."""
    store = MaildirStore(data_dir, fsync="optimized")
    account = await store.account("alice")
    await account.append("INBOX", [(message(n), (), None) for n in (1, 2, 3)])
    copy_index(account.user_dir, saved)
    return store, await account.open_mailbox("INBOX"), account.user_dir


async def after_a_cut(store, data_dir: str, user_dir: str, saved: str):
    """``store`` closed, its index put back to the copy in ``saved`` (the
    commits since lost, as to a power cut) and opened again: (store, INBOX)."""
    await store.close()
    put_back_index(user_dir, saved)
    again = MaildirStore(data_dir, fsync="optimized")
    account = await again.account("alice")
    return again, await account.open_mailbox("INBOX")


class SyncLog:
    """The files our code syncs with ``os.<call>`` (SQLite's own syncs do not
    pass through Python; with fsync = "optimized" SQLite makes none at
    commit): fdatasync for the WAL, fsync for message files and folders."""

    def __init__(self, monkeypatch, call: str = "fdatasync") -> None:
        self.paths: list[str] = []
        real = getattr(os, call)

        def sync(fd: int) -> None:
            self.paths.append(os.readlink(f"/proc/self/fd/{fd}"))
            real(fd)

        monkeypatch.setattr(os, call, sync)

    def take(self) -> list[str]:
        taken, self.paths = self.paths, []
        return taken


@pytest_twisted.ensureDeferred
async def test_always_is_the_default_and_syncs_every_commit_in_sqlite(data_dir):
    store = MaildirStore(data_dir)
    try:
        account = await store.account("alice")
        assert account.index.connection.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
        assert not account.index.relaxed
    finally:
        await store.close()


def wal_of(account) -> str:
    return os.path.realpath(index_path(account.user_dir) + "-wal")


@pytest_twisted.ensureDeferred
async def test_optimized_syncs_messages_and_not_flag_changes(optimized, monkeypatch):
    account = optimized
    assert account.index.connection.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
    wal = wal_of(account)
    syncs = SyncLog(monkeypatch)
    # The first block of MODSEQs was opened (and synced) when the store made
    # INBOX, so no change below is synced for that reason.
    inbox = await account.open_mailbox("INBOX")
    # Each change on its own: a message is synced, a flag change and the like are not.
    for change, synced in ((lambda: account.append("INBOX", [(message(1), (), None)]), True),
                           (lambda: account.append("INBOX", [(message(2), (), None)]), True),
                           (lambda: inbox.store_flags([1], "+", ("\\Seen",)), False),
                           (lambda: inbox.store_flags([2], "+", ("\\Deleted",)), False),
                           (lambda: inbox.expunge(), False),
                           (lambda: account.set_subscribed("INBOX", True), False),
                           (lambda: account.create_mailbox("Chats"), True),
                           (lambda: account.copy(inbox, [1], "Chats"), True)):
        await change()
        assert (wal in syncs.take()) is synced


@pytest_twisted.ensureDeferred
async def test_a_block_of_modseqs_is_synced_before_it_is_used(optimized, monkeypatch):
    account = optimized
    account.index.modseq_reserve = 50  # MODSEQ_RESERVE's behaviour, in fewer commits
    await account.append("INBOX", [(message(n), (), None) for n in range(1, 11)])
    inbox = await account.open_mailbox("INBOX")
    wal = wal_of(account)
    syncs = SyncLog(monkeypatch)
    reserved = account.index.modseq_reserved
    assert reserved >= inbox.highest_modseq + 50
    mode = "+"
    while inbox.highest_modseq + 10 <= reserved:
        await inbox.store_flags(list(inbox.uids), mode, ("\\Seen",))  # 10 MODSEQs
        mode = "-" if mode == "+" else "+"
    assert wal not in syncs.take()
    # This one runs past the block: its commit reserves the next and is synced.
    await inbox.store_flags(list(inbox.uids), mode, ("\\Seen",))
    assert wal in syncs.take()
    assert account.index.modseq_reserved >= inbox.highest_modseq + 50


@pytest_twisted.ensureDeferred
async def test_after_a_power_cut_modseqs_continue_above_every_one_handed_out(data_dir, tmp_path):
    store, inbox, user_dir = await three_synced_messages(data_dir, str(tmp_path / "synced"))
    seen = []
    for uid in (1, 2, 3):
        await inbox.store_flags([uid], "+", ("\\Flagged",))
        seen.append(inbox.modseq_of(uid))
    again, inbox = await after_a_cut(store, data_dir, user_dir, str(tmp_path / "synced"))
    try:
        # The flag changes were lost with the cut; the messages were not.
        assert list(inbox.uids) == [1, 2, 3]
        assert all("\\Flagged" not in inbox.flags_of(uid) for uid in (1, 2, 3))
        # A client that saw those MODSEQs must see every later change (RFC 7162 §3.1.1).
        await inbox.store_flags([3], "+", ("\\Answered",))
        assert inbox.modseq_of(3) > max(seen)
        assert inbox.highest_modseq > max(seen)
    finally:
        await again.close()


@pytest_twisted.ensureDeferred
async def test_an_expunge_lost_after_its_files_went_is_finished_at_the_next_start(data_dir, tmp_path):
    store, inbox, user_dir = await three_synced_messages(data_dir, str(tmp_path / "synced"))
    await inbox.store_flags([2], "+", ("\\Deleted",))
    await inbox.expunge()
    expunged_at = inbox.highest_modseq
    # The rows come back with the old index; the unlinked file does not.
    again, inbox = await after_a_cut(store, data_dir, user_dir, str(tmp_path / "synced"))
    try:
        assert list(inbox.uids) == [1, 3]
        # Announced again to QRESYNC clients, above what they saw before the cut.
        assert await inbox.expunged_since(expunged_at - 1) == [2]
    finally:
        await again.close()


@pytest_twisted.ensureDeferred
async def test_an_appended_message_is_fsynced_and_only_always_syncs_its_directory_too(data_dir, monkeypatch):
    syncs = SyncLog(monkeypatch, "fsync")
    for fsync, directory_synced in (("always", True), ("optimized", False)):
        store = MaildirStore(os.path.join(data_dir, fsync), fsync=fsync)
        try:
            account = await store.account("alice")
            syncs.take()
            result = await account.append("INBOX", [(message(1), (), None), (message(2), (), None)])
            synced = syncs.take()
            inbox = await account.open_mailbox("INBOX")
            tmp = os.path.join(os.path.dirname(os.path.dirname(os.path.realpath(inbox.path(result.uids[0])))), "tmp")
            # Each message's own fsync, in tmp/ where it was written: with
            # "optimized" that is also what makes its name durable (Linux).
            assert len([path for path in synced if os.path.dirname(path) == tmp]) == 2
            assert (tmp in synced) is directory_synced
            for uid, n in zip(result.uids, (1, 2)):
                with open(inbox.path(uid), "rb") as f:
                    assert f.read() == message(n)
        finally:
            await store.close()
