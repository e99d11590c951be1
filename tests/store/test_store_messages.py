"""APPEND, COPY, MOVE, STORE, EXPUNGE and the cached data, against the real store."""

from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone

import pytest
import pytest_twisted

from cpmstore.errors import BadCommand, NoSuchMailbox
from cpmstore.store.changes import FlagsChanged, MessagesAdded, MessagesExpunged
from cpmstore.store.interfaces import IAccount, IMailbox, IStore

CPM_CHAT = (
    b"From: <tel:+33612345678>\r\n"
    b"To: <tel:+33687654321>\r\n"
    b"Date: Tue, 03 Mar 2015 10:00:00 +0100\r\n"
    b"Subject: chat\r\n"
    b"Conversation-ID: f81d4fae-7dec-11d0-a765-00a0c91e6bf6\r\n"
    b"Contribution-ID: abcdef\r\n"
    b"IMDN-Message-ID: Msg-0001\r\n"
    b"Message-Direction: received\r\n"
    b"Content-Type: message/cpim\r\n"
    b"\r\n"
    b"From: <tel:+33612345678>\r\n\r\nContent-Type: text/plain\r\n\r\nhello\r\n"
)


def message(n: int) -> bytes:
    return b"Subject: message %d\r\n\r\nbody %d\r\n" % (n, n)


def cur_files(account, mailbox) -> list[str]:
    return sorted(os.listdir(os.path.join(account.user_dir, "mail", str(mailbox.id), "cur")))


def record(account) -> list:
    events: list = []
    account.bus.subscribe(events.append)
    return events


@pytest_twisted.ensureDeferred
async def test_interfaces_provided(store, account):
    inbox = await account.open_mailbox("INBOX")
    assert IStore.providedBy(store) and IAccount.providedBy(account) and IMailbox.providedBy(inbox)


@pytest_twisted.ensureDeferred
async def test_rfc3501_6_3_11_append_read_byte_exact(account):
    date = datetime(2015, 3, 3, 10, 0, 0, tzinfo=timezone(timedelta(hours=1)))
    result = await account.append("INBOX", [(CPM_CHAT, ("\\Seen", "$CPM-Read"), date)])
    inbox = await account.open_mailbox("INBOX")
    assert result.uids == (1,) and result.uid_validity == inbox.uid_validity
    assert await inbox.read(1) == CPM_CHAT
    with open(inbox.path(1), "rb") as f:
        assert f.read() == CPM_CHAT
    [meta] = await inbox.meta([1])
    assert meta.flags == {"\\Seen", "$CPM-Read"}
    assert meta.internaldate == date and meta.size == len(CPM_CHAT)
    assert meta.header.startswith(b"From: <tel:+33612345678>\r\n") and meta.header.endswith(b"\r\n\r\n")
    assert meta.envelope.startswith(b'("Tue, 03 Mar 2015') and meta.bodystructure.startswith(b'("MESSAGE" "CPIM"')
    assert meta.sent_date == date


@pytest_twisted.ensureDeferred
async def test_append_normalizes_bare_lf(account):
    await account.append("INBOX", [(b"Subject: lf\n\nline 1\nline 2\r\n", (), None)])
    inbox = await account.open_mailbox("INBOX")
    assert await inbox.read(1) == b"Subject: lf\r\n\r\nline 1\r\nline 2\r\n"
    assert inbox.size_of(1) == 31
    assert os.path.basename(inbox.path(1)).endswith(",S=31")


@pytest_twisted.ensureDeferred
async def test_rfc4315_uids_increase_and_recent_flag_is_never_stored(account):
    first = await account.append("INBOX", [(message(1), ("\\Recent", "\\Flagged"), None)])
    second = await account.append("INBOX", [(message(2), (), None), (message(3), (), None)])
    assert first.uids == (1,) and second.uids == (2, 3)
    inbox = await account.open_mailbox("INBOX")
    assert list(inbox.uids) == [1, 2, 3] and inbox.uid_next == 4
    assert inbox.flags_of(1) == {"\\Flagged"}
    with pytest.raises(BadCommand):
        await account.append("INBOX", [(message(4), ("bad flag",), None)])


@pytest_twisted.ensureDeferred
async def test_append_to_missing_folder(account):
    with pytest.raises(NoSuchMailbox):
        await account.append("Nowhere", [(message(1), (), None)])


@pytest_twisted.ensureDeferred
async def test_rfc3502_multiappend_is_all_or_none(account):
    inbox = await account.open_mailbox("INBOX")
    # A real failure half-way through the batch: the second row cannot be inserted.
    account.index.connection.execute(
        "CREATE TEMP TRIGGER fail BEFORE INSERT ON messages WHEN NEW.uid = 2 "
        "BEGIN SELECT RAISE(ABORT, 'disk full'); END"
    )
    with pytest.raises(Exception, match="disk full"):
        await account.append("INBOX", [(message(1), (), None), (message(2), (), None)])
    assert cur_files(account, inbox) == [] and list(inbox.uids) == [] and inbox.uid_next == 1
    account.index.connection.execute("DROP TRIGGER fail")
    result = await account.append("INBOX", [(message(1), (), None), (message(2), (), None)])
    assert result.uids == (1, 2) and len(cur_files(account, inbox)) == 2
    assert (await account.status("INBOX")).messages == 2


@pytest_twisted.ensureDeferred
async def test_rfc4315_copy_hard_links_with_new_uids(account):
    await account.create_mailbox("Archive")
    await account.append("Archive", [(message(0), (), None)])
    await account.append("INBOX", [(message(n), ("\\Seen",), None) for n in (1, 2, 3)])
    inbox = await account.open_mailbox("INBOX")
    events = record(account)
    result = await account.copy(inbox, [3, 1, 99], "Archive")
    archive = await account.open_mailbox("Archive")
    assert result.src_uids == (1, 3) and result.dst_uids == (2, 3)
    assert result.uid_validity == archive.uid_validity
    assert os.stat(inbox.path(1)).st_ino == os.stat(archive.path(2)).st_ino
    assert await archive.read(3) == message(3) and archive.flags_of(3) == {"\\Seen"}
    assert list(inbox.uids) == [1, 2, 3]
    assert events == [MessagesAdded(archive.id, (2, 3), archive.modseq_of(3))]


@pytest_twisted.ensureDeferred
async def test_rfc6851_move(account):
    await account.create_mailbox("Archive")
    await account.append("INBOX", [(message(n), (), None) for n in (1, 2, 3)])
    inbox = await account.open_mailbox("INBOX")
    old_path = inbox.path(2)
    events = record(account)
    result = await account.copy(inbox, [2], "Archive", move=True, origin="session-1")
    archive = await account.open_mailbox("Archive")
    assert result.src_uids == (2,) and result.dst_uids == (1,)
    assert list(inbox.uids) == [1, 3] and list(archive.uids) == [1]
    assert not os.path.exists(old_path) and await archive.read(1) == message(2)
    added, expunged = events
    assert isinstance(added, MessagesAdded) and added.mailbox_id == archive.id
    assert expunged == MessagesExpunged(inbox.id, (2,), inbox.highest_modseq, "session-1")
    assert await inbox.expunged_since(0) == [2]


@pytest_twisted.ensureDeferred
async def test_copy_of_nothing_and_to_missing_folder(account):
    inbox = await account.open_mailbox("INBOX")
    assert (await account.copy(inbox, [5], "INBOX")).src_uids == ()
    await account.append("INBOX", [(message(1), (), None)])
    with pytest.raises(NoSuchMailbox):
        await account.copy(inbox, [1], "Nowhere")


@pytest_twisted.ensureDeferred
async def test_rfc7162_store_flags_one_modseq_per_changed_message(account):
    await account.create_mailbox("Other")
    await account.append("INBOX", [(message(n), (), None) for n in (1, 2, 3)])
    inbox = await account.open_mailbox("INBOX")
    other = await account.open_mailbox("Other")
    await inbox.store_flags([1], "+", ("\\Seen",))
    before = inbox.highest_modseq
    events = record(account)
    changes = await inbox.store_flags([1, 2, 3], "+", ("\\Seen",), origin="s1")
    assert [uid for uid, _, _ in changes] == [2, 3]
    assert changes[0][2] > before and changes[1][2] == changes[0][2] + 1
    assert inbox.modseq_of(2) == changes[0][2] and inbox.highest_modseq == changes[1][2]
    assert events == [FlagsChanged(inbox.id, tuple(changes), "s1")]
    # One counter for all folders: the next change elsewhere is still higher.
    await account.append("Other", [(message(4), (), None)])
    assert other.highest_modseq > inbox.highest_modseq
    assert await inbox.store_flags([1, 2, 3], "+", ("\\seen",)) == []
    assert await inbox.store_flags([2], "-", ("\\Seen",)) == [(2, frozenset(), other.highest_modseq + 1)]
    [(uid, flags, _)] = await inbox.store_flags([3], "", ("$Label1", "\\Draft"))
    assert flags == {"$Label1", "\\Draft"}
    assert (await account.status("INBOX")).highest_modseq == inbox.highest_modseq


@pytest_twisted.ensureDeferred
async def test_flag_sets_are_interned(account):
    await account.append("INBOX", [(message(n), ("\\Seen",), None) for n in (1, 2)])
    inbox = await account.open_mailbox("INBOX")
    assert inbox.flags_of(1) is inbox.flags_of(2)
    await inbox.store_flags([1, 2], "+", ("\\Flagged",))
    assert inbox.flags_of(1) is inbox.flags_of(2)


@pytest_twisted.ensureDeferred
async def test_rfc3501_6_4_3_expunge(account):
    await account.append("INBOX", [(message(n), (), None) for n in (1, 2, 3, 4)])
    inbox = await account.open_mailbox("INBOX")
    await inbox.store_flags([2, 3, 4], "+", ("\\Deleted",))
    gone = inbox.path(2)
    events = record(account)
    assert await inbox.expunge([1, 2, 3], origin="s1") == [2, 3]  # UID EXPUNGE, RFC 4315 §2.1
    assert list(inbox.uids) == [1, 4] and not os.path.exists(gone)
    assert events == [MessagesExpunged(inbox.id, (2, 3), inbox.highest_modseq, "s1")]
    assert await inbox.expunge() == [4]
    assert await inbox.expunged_since(0) == [2, 3, 4]
    assert await inbox.expunged_since(events[0].modseq) == [4]
    with pytest.raises(KeyError):
        inbox.flags_of(2)
    status = await account.status("INBOX")
    assert (status.messages, status.size) == (1, len(message(1)))


@pytest_twisted.ensureDeferred
async def test_meta_in_request_order_skips_missing(account):
    await account.append("INBOX", [(message(n), (), None) for n in range(1, 8)])
    inbox = await account.open_mailbox("INBOX")
    metas = await inbox.meta([7, 2, 42, 5], cached=False)
    assert [m.uid for m in metas] == [7, 2, 5] and metas[0].envelope == b""
    assert [m.size for m in metas] == [len(message(7)), len(message(2)), len(message(5))]


@pytest_twisted.ensureDeferred
async def test_search_header_cpm_fields(account):
    other = CPM_CHAT.replace(b"f81d4fae", b"00000000").replace(b"Msg-0001", b"Msg-0002")
    await account.append("INBOX", [(CPM_CHAT, (), None), (other, (), None), (message(3), (), None)])
    inbox = await account.open_mailbox("INBOX")
    assert await inbox.search_header("Conversation-ID", "F81D4FAE") == {1}
    assert await inbox.search_header("conversation-id", "-7dec-") == {1, 2}
    assert await inbox.search_header("IMDN-Message-ID", "msg-0002") == {2}
    assert await inbox.search_header("Message-Direction", "") == {1, 2}
    assert await inbox.search_header("Subject", "chat") is None


@pytest_twisted.ensureDeferred
async def test_rfc3501_2_3_2_recent_goes_to_one_session(account):
    await account.append("INBOX", [(message(1), (), None)])
    status = await account.status("INBOX")
    assert status.recent == 1
    inbox = await account.open_mailbox("INBOX")
    assert inbox.claim_recent(list(inbox.uids)) == {1}
    assert inbox.claim_recent(list(inbox.uids)) == set()
    await account.append("INBOX", [(message(2), (), None)])
    assert inbox.claim_recent([1, 2]) == {2}


@pytest_twisted.ensureDeferred
async def test_uids_snapshot_is_never_changed_in_place(account):
    await account.append("INBOX", [(message(n), ("\\Deleted",), None) for n in (1, 2)])
    inbox = await account.open_mailbox("INBOX")
    snapshot = inbox.uids
    await account.append("INBOX", [(message(3), (), None)])
    await inbox.expunge()
    assert list(snapshot) == [1, 2] and list(inbox.uids) == [3]


@pytest_twisted.ensureDeferred
async def test_retention_expunge_checks_when_deleted_was_set_in_the_same_turn(account):
    """Retention finds due messages, then expunges them in a later turn: one
    whose \\Deleted was removed and set again in between is not due any more."""
    from cpmstore.store.index import deleted_stamp

    await account.append("INBOX", [(b"Subject: a\r\n\r\na\r\n", ("\\Deleted",), None),
                                   (b"Subject: b\r\n\r\nb\r\n", ("\\Deleted",), None)])
    inbox = await account.open_mailbox("INBOX")
    stamp = deleted_stamp()
    await inbox.store_flags([2], "-", ("\\Deleted",))
    await inbox.store_flags([2], "+", ("\\Deleted",))
    assert await account.expunge(inbox, [1, 2], deleted_before=stamp) == [1]
    assert list(inbox.uids) == [2] and "\\Deleted" in inbox.flags_of(2)


@pytest_twisted.ensureDeferred
async def test_rfc3501_6_3_10_status_unseen_follows_every_change_of_an_open_folder(account, data_dir):
    # An open folder counts its messages without \Seen once and then keeps the
    # count current; after every change it must equal a fresh count, and the
    # count another process (a fresh store on the same disk) makes.
    from cpmstore.store.store import MaildirStore

    await account.create_mailbox("Box")
    box = await account.open_mailbox("Box")
    steps = []

    async def check():
        unseen = (await account.status("Box")).unseen
        fresh = MaildirStore(str(data_dir))
        try:
            other = await fresh.account(account.username)
            steps.append((unseen, (await other.status("Box")).unseen))
        finally:
            await fresh.close()

    await account.append("Box", [(message(n), ("\\Seen",) if n % 3 == 0 else (), None) for n in range(1, 10)])
    await check()  # 6 of 9 unseen
    await box.store_flags([1, 2, 3], "+", ("\\Seen",))
    await check()
    await box.store_flags([3, 4], "-", ("\\Seen", "\\Flagged"))
    await check()
    await box.store_flags(list(range(1, 10)), "", ("\\Deleted",))  # replaces: every one unseen
    await check()
    await box.store_flags([5, 6, 7, 8, 9], "+", ("\\Seen",))
    await box.store_flags([5, 6], "-", ("\\Deleted",))
    await box.expunge()  # 1-4 unseen, 7-9 seen go
    await check()
    await account.copy(box, [5, 6], "Box")
    await check()
    assert steps == [(6, 6), (4, 4), (5, 5), (9, 9), (0, 0), (0, 0)]


@pytest_twisted.ensureDeferred
async def test_rfc3501_6_4_3_expunge_removes_exactly_the_deleted_after_every_change(account):
    # An open folder finds its \Deleted messages once and then keeps that set
    # current; after every kind of change EXPUNGE must remove exactly the
    # messages whose flags say \Deleted now, as a walk of the flags finds them.
    await account.create_mailbox("Box")
    await account.create_mailbox("Other")
    box = await account.open_mailbox("Box")
    walked = []

    def deleted_now() -> list[int]:
        walked.append(sorted(uid for uid in box.uids if "\\Deleted" in box.flags_of(uid)))
        return walked[-1]

    await account.append("Box", [(message(n), ("\\Deleted",) if n % 3 == 0 else (), None) for n in range(1, 10)])
    assert box.deleted_uids() == deleted_now() == [3, 6, 9]  # found once here
    await box.store_flags([1, 2], "+", ("\\Deleted",))
    await box.store_flags([3], "-", ("\\Deleted",))
    await box.store_flags([4], "", ("\\Seen", "\\Deleted"))  # a replace
    await box.store_flags([6], "", ("\\Seen",))
    assert box.deleted_uids() == deleted_now() == [1, 2, 4, 9]
    await account.append("Box", [(message(10), ("\\Deleted",), None), (message(11), (), None)])
    other = await account.open_mailbox("Other")
    await account.append("Other", [(message(12), ("\\Deleted",), None)])
    await account.copy(other, [1], "Box", move=True)  # UID 12 in Box, \Deleted
    assert box.deleted_uids([2, 9, 10, 11, 12]) == [2, 9, 10, 12]
    assert await box.expunge([1, 2, 3]) == [1, 2]
    assert box.deleted_uids() == deleted_now() == [4, 9, 10, 12]
    assert await box.expunge() == [4, 9, 10, 12]
    assert box.deleted_uids() == deleted_now() == []
    assert list(box.uids) == [3, 5, 6, 7, 8, 11]


@pytest_twisted.ensureDeferred
async def test_rfc9208_usage_follows_every_change_without_a_new_count(account, data_dir, monkeypatch):
    # The quota usage (messages, bytes) is counted once, then kept current by
    # every change; after each it must equal what a fresh store counts on disk.
    from cpmstore.store.store import MaildirStore

    counts = []
    count = account.index.usage
    monkeypatch.setattr(account.index, "usage", lambda: counts.append(1) or count())
    await account.create_mailbox("Box")
    await account.create_mailbox("Other")
    box = await account.open_mailbox("Box")
    other = await account.open_mailbox("Other")
    steps = []

    async def check():
        kept = await account.usage()
        fresh = MaildirStore(str(data_dir))
        try:
            steps.append((kept, await (await fresh.account(account.username)).usage()))
        finally:
            await fresh.close()

    await account.append("Box", [(message(n), ("\\Deleted",) if n % 2 else (), None) for n in range(1, 7)])
    await check()  # counted here, kept from now on
    await box.expunge()  # 1, 3, 5 go
    await check()
    await account.copy(box, [2], "Other")
    await account.copy(box, [4], "Other", move=True)
    await check()
    await other.store_flags(list(other.uids), "+", ("\\Deleted",))
    await account.expunge(other, [list(other.uids)[0]])
    await check()
    await account.append("INBOX", [(message(9), (), None)])
    await account.rename_mailbox("INBOX", "Old")  # INBOX's messages move
    await check()
    assert [kept == fresh for kept, fresh in steps] == [True] * 5, steps
    assert len(counts) == 1  # the first usage() only: no full count after an expunge or a move
    sizes = {n: len(message(n)) for n in range(1, 10)}
    assert steps[1][0] == (3, sizes[2] + sizes[4] + sizes[6])
