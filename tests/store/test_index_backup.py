"""Index loss and damage (issue 10): the index is copied to
``index.sqlite3.backup``; a deleted or truncated index is rebuilt from that
copy and the files, so flags, ACLs, METADATA, annotations and subscriptions
come back as of the copy, what the files show happened afterwards is
applied, and every message gets a MODSEQ above any a client holds
(RFC 7162 §3.1.2): a device resynchronizes instead of being lied to."""

from __future__ import annotations

import os

import pytest_twisted

from cpmstore.store.backup import backup_path, write_backup
from cpmstore.store.rebuild import check_index, index_path
from cpmstore.store.store import MaildirStore


def message(n: int) -> bytes:
    return b"Subject: message %d\r\nX-Id: %d\r\n\r\nbody %d\r\n" % (n, n, n)


async def _fill(account) -> None:
    await account.create_mailbox("Chats")
    await account.create_mailbox("Old")
    await account.append("Chats", [(message(n), ("\\Seen",) if n % 2 else (), None) for n in range(1, 6)])
    await account.append("Old", [(message(10), (), None)])
    chats = await account.open_mailbox("Chats")
    await chats.store_flags([3], "+", ("$Pinned", "\\Flagged"))
    await account.store_annotations(chats, [2], [("", "/comment", b"from the backup")])
    await account.set_acl("Chats", "bob", "lr")
    await account.set_metadata("Chats", "alice", [("/private/comment", b"kept")], 100)
    await account.set_subscribed("Chats", True)


async def _backup(account) -> None:
    await account.queue.run(write_backup, account.index.connection, account.index.path)


async def _state(account, name: str) -> dict:
    box = await account.open_mailbox(name)
    return {uid: (await box.read(uid), box.flags_of(uid)) for uid in box.uids}


def _lose_index(user_dir: str, how: str) -> None:
    path = index_path(user_dir)
    if how == "delete":
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(path + suffix):
                os.unlink(path + suffix)
    else:  # truncate: what a full disk or a bad copy can leave
        for suffix in ("-wal", "-shm"):
            if os.path.exists(path + suffix):
                os.unlink(path + suffix)
        with open(path, "r+b") as f:
            f.truncate(3000)


@pytest_twisted.ensureDeferred
async def test_lost_index_comes_back_from_its_backup_with_everything(store, account, data_dir):
    await _fill(account)
    chats_before = await _state(account, "Chats")
    status = await account.status("Chats")
    highest = max(status.highest_modseq, (await account.status("Old")).highest_modseq)
    await _backup(account)
    user_dir = account.user_dir
    await store.close()
    _lose_index(user_dir, "delete")

    again = MaildirStore(data_dir)
    try:
        alice = await again.account("alice")
        assert await _state(alice, "Chats") == chats_before
        restored = await alice.status("Chats")
        assert (restored.uid_validity, restored.uid_next) == (status.uid_validity, status.uid_next)
        chats = await alice.open_mailbox("Chats")
        # Every message is newer than anything a client saw: all flags get resent.
        assert min(chats.modseq_of(uid) for uid in chats.uids) > highest
        assert ("/comment", "shared", b"from the backup") in (await alice.annotations(chats, [2], "alice"))[2]
        await alice.load_access()
        assert alice.stored_acl("Chats") == {"bob": "lr"}
        assert (await alice.get_metadata("Chats", "alice")).get("/private/comment") == b"kept"
        assert await alice.subscriptions() == ["Chats"]
        assert check_index(user_dir) == []
    finally:
        await again.close()


@pytest_twisted.ensureDeferred
async def test_truncated_index_is_rebuilt_and_later_changes_come_from_the_files(store, account, data_dir):
    """After the copy: a message arrives, one is expunged, a folder is renamed,
    one created, one deleted. The files show all of that; flags changed
    after the copy are what is lost (and every message is resent)."""
    await _fill(account)
    await _backup(account)
    await account.append("Chats", [(message(6), (), None)])
    chats = await account.open_mailbox("Chats")
    await chats.store_flags([1], "+", ("\\Deleted",))
    await chats.expunge()
    await account.rename_mailbox("Chats", "Conversations")
    await account.create_mailbox("New")
    await account.append("New", [(message(20), (), None)])
    await account.delete_mailbox("Old")
    expected = await _state(account, "Conversations")
    user_dir = account.user_dir
    await store.close()
    _lose_index(user_dir, "truncate")

    again = MaildirStore(data_dir)
    try:
        alice = await again.account("alice")
        names = sorted(info.name for info in await alice.list_mailboxes())
        assert names == ["Conversations", "INBOX", "New"]
        got = await _state(alice, "Conversations")
        assert {uid: body for uid, (body, _) in got.items()} == {uid: body for uid, (body, _) in expected.items()}
        assert 1 not in got and 6 in got
        assert (await alice.status("New")).messages == 1
        renamed = await alice.open_mailbox("Conversations")
        # The expunge after the copy is history a QRESYNC client is told of.
        assert 1 in await alice.expunged_since(renamed, 0)
        assert check_index(user_dir) == []
        assert os.path.exists(backup_path(index_path(user_dir)))
    finally:
        await again.close()


@pytest_twisted.ensureDeferred
async def test_backup_job_copies_only_indexes_that_changed(store, account):
    from cpmstore.store.backup import BackupService

    job = BackupService(store, 900)
    path = backup_path(index_path(account.user_dir))
    await account.append("INBOX", [(message(1), (), None)])
    assert await job.run_once() == 1 and os.path.exists(path)
    first = os.stat(path).st_mtime_ns
    assert await job.run_once() == 0  # nothing changed: no copy
    assert os.stat(path).st_mtime_ns == first
    await account.set_acl("INBOX", "bob", "lr")
    assert await job.run_once() == 1
