"""Restart, crash recovery, index check and rebuild, and the one-query folder load."""

from __future__ import annotations

import os
from datetime import datetime, timezone

import pytest
import pytest_twisted

from cpmstore.store import maildir
from cpmstore.mime.analysis import analyze
from cpmstore.store.index import Index, NewRow
from cpmstore.store.rebuild import check_index, index_path, rebuild_index
from cpmstore.store.store import MaildirStore


def message(n: int) -> bytes:
    return b"Subject: message %d\r\n\r\nbody %d\r\n" % (n, n)


async def snapshot(account) -> dict:
    """Everything a reconnecting client may rely on, per folder."""
    result = {}
    for info in await account.list_mailboxes():
        box = await account.open_mailbox(info.name)
        result[info.name] = (
            box.uid_validity, box.uid_next, list(box.uids),
            [box.flags_of(uid) for uid in box.uids], [await box.read(uid) for uid in box.uids],
        )
    return result


async def populate(account) -> None:
    await account.create_mailbox("Default/tel:+33612345678")
    await account.append("INBOX", [(message(n), ("\\Seen",), None) for n in (1, 2, 3)])
    await account.append("Default/tel:+33612345678", [(message(4), ("$CPM-Read", "\\Flagged"), None)])
    inbox = await account.open_mailbox("INBOX")
    await inbox.store_flags([2], "+", ("\\Deleted",))
    await inbox.expunge()
    await account.rename_mailbox("Default", "Conversations")


async def reopened(store: MaildirStore, data_dir: str) -> MaildirStore:
    await store.close()
    return MaildirStore(data_dir)


@pytest_twisted.ensureDeferred
async def test_restart_keeps_uids_uidvalidity_flags_and_modseq(store, account, data_dir):
    await populate(account)
    before = await snapshot(account)
    modseqs = {info.name: info.highest_modseq for info in await account.list_mailboxes()}
    again = await reopened(store, data_dir)
    try:
        account = await again.account("alice")
        assert await snapshot(account) == before
        assert {info.name: info.highest_modseq for info in await account.list_mailboxes()} == modseqs
        assert (await account.append("INBOX", [(message(5), (), None)])).uids == (4,)
        assert check_index(account.user_dir) == []
    finally:
        await again.close()


@pytest_twisted.ensureDeferred
async def test_crash_recovery_adopts_files_and_drops_leftovers(store, account, data_dir):
    await account.append("INBOX", [(message(n), (), None) for n in (1, 2, 3, 4)])
    inbox = await account.open_mailbox("INBOX")
    directory = os.path.join(account.user_dir, "mail", str(inbox.id))
    # A crash after an EXPUNGE commit, before its file was removed.
    os.link(inbox.path(4), os.path.join(directory, "spare"))
    await inbox.store_flags([4], "+", ("\\Deleted",))
    await inbox.expunge()
    expunged_name = os.path.basename(inbox.path(3)).replace("3.", "4.", 1)
    os.rename(os.path.join(directory, "spare"), os.path.join(directory, "cur", expunged_name))
    lost = inbox.path(2)
    await store.close()
    # A crash between rename into cur/ and the commit; one during a write to tmp/;
    # a file dropped into new/ by hand; a file lost from the disk.
    with open(os.path.join(directory, "cur", maildir.canonical_name(9, 1, len(message(9)))), "wb") as f:
        f.write(message(9))
    with open(os.path.join(directory, "tmp", "7.half,S=100"), "wb") as f:
        f.write(b"Subject: half")
    with open(os.path.join(directory, "new", "foreign:2,FS"), "wb") as f:
        f.write(message(10))
    os.unlink(lost)
    problems = check_index(account.user_dir)
    assert any("UID 2 has no file" in p for p in problems)
    assert any("no index row" in p for p in problems)
    again = MaildirStore(data_dir)
    try:
        account = await again.account("alice")
        inbox = await account.open_mailbox("INBOX")
        assert list(inbox.uids) == [1, 3, 9, 10] and inbox.uid_next == 11
        assert await inbox.read(9) == message(9) and await inbox.read(10) == message(10)
        assert inbox.flags_of(10) == {"\\Seen", "\\Flagged"}
        [meta] = await inbox.meta([9])
        assert meta.header == b"Subject: message 9\r\n\r\n"
        assert await inbox.expunged_since(0) == [2, 4]
        assert os.listdir(os.path.join(directory, "tmp")) == []
        assert os.listdir(os.path.join(directory, "new")) == []
        assert len(os.listdir(os.path.join(directory, "cur"))) == 4
        assert check_index(account.user_dir) == []
    finally:
        await again.close()


@pytest_twisted.ensureDeferred
async def test_rebuild_index_from_files(store, account, data_dir):
    await populate(account)
    before = await snapshot(account)
    highest = max(info.highest_modseq for info in await account.list_mailboxes())
    user_dir = account.user_dir
    await store.close()
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(index_path(user_dir) + suffix):
            os.unlink(index_path(user_dir) + suffix)
    summary = rebuild_index(user_dir)
    assert "3 folders, 3 messages" in summary
    again = MaildirStore(data_dir)
    try:
        account = await again.account("alice")
        after = await snapshot(account)
        # Flags are not in the files: everything else is back.
        assert {name: (v[0], v[1], v[2], v[4]) for name, v in after.items()} == {
            name: (v[0], v[1], v[2], v[4]) for name, v in before.items()
        }
        assert min(info.highest_modseq for info in await account.list_mailboxes()) > highest
        assert check_index(user_dir) == []
    finally:
        await again.close()


@pytest_twisted.ensureDeferred
async def test_missing_index_is_rebuilt_on_open(store, account, data_dir):
    await account.create_mailbox("Kept")
    await account.append("Kept", [(message(1), (), None)])
    uid_validity = (await account.status("Kept")).uid_validity
    await store.close()
    os.unlink(index_path(account.user_dir))
    again = MaildirStore(data_dir)
    try:
        account = await again.account("alice")
        status = await account.status("Kept")
        assert (status.messages, status.uid_validity, status.uid_next) == (1, uid_validity, 2)
    finally:
        await again.close()


@pytest_twisted.ensureDeferred
async def test_large_folder_opens_with_one_bulk_query(store, account, data_dir):
    inbox_id = (await account.open_mailbox("INBOX")).id
    await store.close()
    count = 20_000
    directory = os.path.join(account.user_dir, "mail", str(inbox_id), "cur")
    data = message(0)
    cache = analyze(data)
    when = datetime(2024, 1, 1, tzinfo=timezone.utc)
    original = os.path.join(data_dir, "original")
    with open(original, "wb") as f:
        f.write(data)
    rows = []
    for uid in range(1, count + 1):
        name = maildir.canonical_name(uid, uid, len(data))
        os.link(original, os.path.join(directory, name))
        rows.append(NewRow(uid, name, "\\Seen" if uid % 2 else "", uid + 10, len(data), when, cache))
    index = Index(index_path(account.user_dir))
    with index.transaction():
        index.insert_messages(inbox_id, rows)
        index.set_counters(inbox_id, count + 1, count + 10)
        index.set_modseq_floor(count + 10)
    index.close()
    again = MaildirStore(data_dir)
    try:
        account = await again.account("alice")
        statements: list[str] = []
        account.index.connection.set_trace_callback(statements.append)
        status = await account.status("INBOX")
        assert (status.messages, status.unseen) == (count, count // 2)
        assert not any("FROM messages INDEXED BY" in s for s in statements)
        statements.clear()
        inbox = await account.open_mailbox("INBOX")
        reading_messages = [s for s in statements if "messages" in s]
        assert len(reading_messages) == 1 and len(statements) <= 3
        assert len(inbox.uids) == count and inbox.modseq_of(count) == count + 10
        assert inbox.flags_of(1) is inbox.flags_of(3)
        statements.clear()
        assert await account.open_mailbox("INBOX") is inbox
        assert (await account.status("INBOX")).messages == count
        metas = await inbox.meta(list(range(1, count + 1)), cached=False)
        assert len(statements) == count // 500  # one range query per chunk
        assert len(metas) == count and await inbox.read(count) == data
    finally:
        account.index.connection.set_trace_callback(None)
        await again.close()


@pytest.mark.parametrize("fsync", ["always", "optimized"])  # optimized: the expunge commits on this thread
@pytest.mark.parametrize("removal", ["expunge", "move"])
@pytest_twisted.ensureDeferred
async def test_rebuild_never_reuses_expunged_top_uids(data_dir, fsync, removal):
    """RFC 3501 §2.3.1.1: a UID is never given twice under one UIDVALIDITY,
    also after a rebuild from the files when the highest UIDs were expunged
    (so no file shows how far UIDs went) or moved away."""
    store = MaildirStore(data_dir, fsync=fsync)
    account = await store.account("alice")
    await account.create_mailbox("Chats")
    await account.append("Chats", [(b"Subject: %d\r\n\r\nx\r\n" % i, (), None) for i in range(5)])
    chats = await account.open_mailbox("Chats")
    if removal == "expunge":
        await chats.store_flags([4, 5], "+", ("\\Deleted",))
        await chats.expunge()
    else:
        await account.copy(chats, [4, 5], "INBOX", move=True)
    validity = chats.uid_validity
    user_dir = account.user_dir
    await store.close()
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(index_path(user_dir) + suffix):
            os.unlink(index_path(user_dir) + suffix)
    rebuild_index(user_dir)
    again = MaildirStore(data_dir)
    try:
        account = await again.account("alice")
        result = await account.append("Chats", [(b"Subject: new\r\n\r\ny\r\n", (), None)])
        assert result.uid_validity == validity
        assert result.uids == (6,)
        assert check_index(user_dir) == []
    finally:
        await again.close()


@pytest_twisted.ensureDeferred
async def test_crash_leftover_mailbox_tmp_does_not_block_later_writes(store, account, data_dir):
    """A SIGKILL between writing ``mailbox.tmp`` and renaming it leaves the
    tmp file; the next write of the folder's file (here: an expunge of its
    top UID, which records UIDNEXT) must replace it, not fail on it. Found
    by the crash campaign (tests/reliability)."""
    await account.create_mailbox("Chats")
    await account.append("Chats", [(b"Subject: %d\r\n\r\nx\r\n" % i, (), None) for i in range(3)])
    chats = await account.open_mailbox("Chats")
    folder_dir = maildir.mailbox_dir(account.user_dir, chats.id)
    with open(os.path.join(folder_dir, maildir.MAILBOX_FILE + ".tmp"), "wb") as f:
        f.write(b'{"name": "half written')
    await chats.store_flags([3], "+", ("\\Deleted",))
    assert await chats.expunge() == [3]
    assert maildir.read_mailbox_file(folder_dir).uid_next == 4
    assert not os.path.exists(os.path.join(folder_dir, maildir.MAILBOX_FILE + ".tmp"))


@pytest_twisted.ensureDeferred
async def test_staged_files_are_finished_if_committed_and_dropped_if_not(store, account, data_dir):
    """Delivery stages files in ``tmp/`` before the index commit and moves them
    into ``cur/`` after it. A crash after the commit leaves a staged file the
    next start publishes (the APPEND was acknowledged); a crash before it
    leaves one the next start drops (nothing was acknowledged: a MOVE or a
    MULTIAPPEND is whole or not at all)."""
    await account.create_mailbox("Chats")
    await account.append("Chats", [(message(n), (), None) for n in (1, 2)])
    chats = await account.open_mailbox("Chats")
    folder_dir = maildir.mailbox_dir(account.user_dir, chats.id)
    committed = os.path.basename(chats.path(2))
    body = await chats.read(2)
    user_dir = account.user_dir
    await store.close()
    # Committed, not yet published:
    os.rename(os.path.join(folder_dir, "cur", committed), os.path.join(folder_dir, "tmp", committed))
    # Staged, never committed (a COPY's link, UID 3 of a transaction that failed):
    with open(os.path.join(folder_dir, "tmp", maildir.canonical_name(3, maildir.new_unique(), 9)), "wb") as f:
        f.write(b"x: y\r\n\r\nz")
    again = MaildirStore(data_dir)
    try:
        alice = await again.account("alice")
        chats = await alice.open_mailbox("Chats")
        assert list(chats.uids) == [1, 2]
        assert await chats.read(2) == body
        assert os.listdir(os.path.join(folder_dir, "tmp")) == []
        assert check_index(user_dir) == []
    finally:
        await again.close()


@pytest_twisted.ensureDeferred
async def test_login_storm_opens_each_store_once_and_wakes_every_waiter(data_dir):
    """A restart followed by every device logging in at once: 1,500 first
    opens of 100 users, all at the same moment. Each store is opened once,
    every caller gets it, and no chain of hand-overs grows with the number of
    waiters (a lock did, and overflowed the stack past a few hundred)."""
    from twisted.internet.defer import gatherResults
    from twisted.internet.defer import Deferred as D

    store = MaildirStore(data_dir)
    try:
        names = [f"user{n % 100}" for n in range(1500)]
        opened = await gatherResults([D.fromCoroutine(store.account(name)) for name in names])
        assert len({id(account) for account in opened}) == 100
        assert all(account.username == name for account, name in zip(opened, names))
        assert len(store.loaded_accounts()) == 100
    finally:
        await store.close()
