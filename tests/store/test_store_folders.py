"""CREATE, DELETE, RENAME, SUBSCRIBE and STATUS (RFC 3501 §6.3) against the real store."""

from __future__ import annotations

import os

import pytest
import pytest_twisted

from cpmstore.errors import InvalidMailboxName, MailboxExists, NoSuchMailbox
from cpmstore.store.changes import MailboxChanged, MessagesExpunged
from cpmstore.store.texts import TEXTS_FILE


def message(n: int) -> bytes:
    return b"Subject: message %d\r\n\r\nbody %d\r\n" % (n, n)


async def names(account) -> list[str]:
    return [info.name for info in await account.list_mailboxes()]


def record(account) -> list:
    events: list = []
    account.bus.subscribe(events.append)
    return events


def tree(path: str) -> set[str]:
    """Every path below ``path``, relative."""
    found = set()
    for root, dirs, files in os.walk(path):
        for entry in dirs + files:
            found.add(os.path.relpath(os.path.join(root, entry), path))
    return found


@pytest_twisted.ensureDeferred
async def test_inbox_exists_on_first_use(account, data_dir):
    assert await names(account) == ["INBOX"]
    assert os.path.isfile(os.path.join(data_dir, "users", "alice", "index.sqlite3"))


@pytest_twisted.ensureDeferred
async def test_rfc3501_6_3_3_create_makes_parents(account):
    events = record(account)
    info = await account.create_mailbox("RCSMessageStore/Default/tel:+33612345678")
    assert await names(account) == [
        "INBOX", "RCSMessageStore", "RCSMessageStore/Default", "RCSMessageStore/Default/tel:+33612345678",
    ]
    assert [e.name for e in events] == (await names(account))[1:]
    assert [e.kind for e in events] == ["created"] * 3 and events[-1].mailbox_id == info.id
    assert os.path.isdir(os.path.join(account.user_dir, "mail", str(info.id), "cur"))
    with pytest.raises(MailboxExists):
        await account.create_mailbox("RCSMessageStore/Default")
    with pytest.raises(MailboxExists):
        await account.create_mailbox("inbox")


@pytest.mark.parametrize("name", ["", "a//b", "/a", "a/", "x\x00y", "a\r\nb", "a*", "b%", "x" * 1001])
@pytest_twisted.ensureDeferred
async def test_rfc3501_5_1_invalid_names_refused(account, name):
    with pytest.raises(InvalidMailboxName):
        await account.create_mailbox(name)


@pytest_twisted.ensureDeferred
async def test_names_never_touch_the_filesystem(account, data_dir):
    before = tree(data_dir)
    for name in ("../x", "a/../../b", "../..", "./.", "~root", "\\windows\\path"):
        info = await account.create_mailbox(name)
        await account.append(name, [(message(1), (), None)])
        assert (await account.status(name)).messages == 1
        assert os.path.isdir(os.path.join(account.user_dir, "mail", str(info.id)))
    for name in ("x\x00y", "../x\x00"):
        with pytest.raises(InvalidMailboxName):
            await account.create_mailbox(name)
    added = tree(data_dir) - before
    # Under mail/ only folder ids; beside it only the text index (store/texts.py), whatever the names.
    assert all(path.startswith(os.path.join("users", "alice", "mail"))
               or path.startswith(os.path.join("users", "alice", TEXTS_FILE)) for path in added)
    # Besides users/, only the shared-folder registry (store/shares.py), whatever the names.
    assert {f for f in os.listdir(data_dir) if not f.startswith("shares.sqlite3")} == {"users"}
    assert sorted(os.listdir(os.path.join(data_dir, "users"))) == ["alice"]


@pytest_twisted.ensureDeferred
async def test_user_names_are_encoded(store, data_dir):
    for username in ("..", "a/b", "x%y"):
        await store.account(username)
    assert sorted(os.listdir(os.path.join(data_dir, "users"))) == ["%2E%2E", "a%2Fb", "x%25y"]


@pytest_twisted.ensureDeferred
async def test_rfc3501_6_3_5_rename_moves_subtree_keeping_uids(account):
    await account.create_mailbox("a/x/deep")
    await account.create_mailbox("ab")
    await account.append("a/x", [(message(n), ("\\Seen",), None) for n in (1, 2)])
    before = {info.name: info for info in await account.list_mailboxes()}
    opened = await account.open_mailbox("a/x")
    events = record(account)
    await account.rename_mailbox("a", "b/c")
    after = {info.name: info for info in await account.list_mailboxes()}
    assert sorted(after) == ["INBOX", "ab", "b", "b/c", "b/c/x", "b/c/x/deep"]
    for old, new in (("a", "b/c"), ("a/x", "b/c/x"), ("a/x/deep", "b/c/x/deep")):
        assert (after[new].id, after[new].uid_validity, after[new].uid_next) == (
            before[old].id, before[old].uid_validity, before[old].uid_next)
    assert opened.name == "b/c/x" and list(opened.uids) == [1, 2]
    assert await (await account.open_mailbox("b/c/x")).read(2) == message(2)
    assert [(e.kind, e.name, e.old_name) for e in events] == [
        ("created", "b", None), ("renamed", "b/c", "a"), ("renamed", "b/c/x", "a/x"),
        ("renamed", "b/c/x/deep", "a/x/deep"),
    ]


@pytest_twisted.ensureDeferred
async def test_rfc3501_6_3_5_rename_errors(account):
    await account.create_mailbox("a/b")
    await account.create_mailbox("c")
    with pytest.raises(MailboxExists):
        await account.rename_mailbox("a", "c")
    with pytest.raises(MailboxExists):
        await account.rename_mailbox("a", "a")
    with pytest.raises(NoSuchMailbox):
        await account.rename_mailbox("nope", "d")
    with pytest.raises(InvalidMailboxName):
        await account.rename_mailbox("a", "a/b/c")
    assert await names(account) == ["INBOX", "a", "a/b", "c"]


@pytest_twisted.ensureDeferred
async def test_rfc3501_6_3_5_rename_inbox_moves_messages(account):
    await account.create_mailbox("INBOX/child")
    await account.append("INBOX", [(message(n), ("\\Flagged",), None) for n in (1, 2)])
    inbox = await account.open_mailbox("INBOX")
    uid_validity = inbox.uid_validity
    events = record(account)
    await account.rename_mailbox("inbox", "Old/Mail")
    assert await names(account) == ["INBOX", "INBOX/child", "Old", "Old/Mail"]
    assert list(inbox.uids) == [] and inbox.name == "INBOX" and inbox.uid_validity == uid_validity
    old = await account.open_mailbox("Old/Mail")
    assert len(old.uids) == 2 and old.uid_validity != uid_validity
    assert [await old.read(uid) for uid in old.uids] == [message(1), message(2)]
    assert old.flags_of(old.uids[0]) == {"\\Flagged"}
    assert MessagesExpunged(inbox.id, (1, 2), inbox.highest_modseq) in events
    # INBOX goes on with its UIDs: none is reused under the same UIDVALIDITY.
    assert (await account.append("INBOX", [(message(3), (), None)])).uids == (3,)


@pytest_twisted.ensureDeferred
async def test_rfc3501_6_3_4_delete(account):
    await account.create_mailbox("a/b")
    await account.append("a/b", [(message(1), (), None)])
    opened = await account.open_mailbox("a/b")
    directory = os.path.join(account.user_dir, "mail", str(opened.id))
    with pytest.raises(InvalidMailboxName):
        await account.delete_mailbox("inbox")
    parent = await account.open_mailbox("a")
    parent_dir = os.path.join(account.user_dir, "mail", str(parent.id))
    # RFC 3501 §6.3.4: deleting a parent leaves its children alone.
    await account.delete_mailbox("a")
    assert parent.deleted and not os.path.exists(parent_dir)
    assert await names(account) == ["INBOX", "a/b"]
    with pytest.raises(NoSuchMailbox):
        await account.delete_mailbox("a")
    with pytest.raises(NoSuchMailbox):
        await account.delete_mailbox("zzz")
    events = record(account)
    await account.delete_mailbox("a/b")
    assert opened.deleted and not os.path.exists(directory)
    assert events == [MailboxChanged("deleted", opened.id, "a/b")]
    assert await names(account) == ["INBOX"]
    assert os.listdir(os.path.join(account.user_dir, "mail")) == [str((await account.open_mailbox("INBOX")).id)]


@pytest_twisted.ensureDeferred
async def test_rfc3501_2_3_1_1_recreated_folder_gets_new_uidvalidity(account):
    first = await account.create_mailbox("Box")
    await account.delete_mailbox("Box")
    second = await account.create_mailbox("Box")
    assert second.uid_validity > first.uid_validity and second.id != first.id
    await account.rename_mailbox("Box", "Moved")
    third = await account.create_mailbox("Box")
    assert third.uid_validity > second.uid_validity


@pytest_twisted.ensureDeferred
async def test_rfc3501_6_3_6_subscriptions_may_name_missing_folders(account):
    await account.create_mailbox("a")
    events = record(account)
    await account.set_subscribed("a", True)
    await account.set_subscribed("ghost", True)
    assert await account.subscriptions() == ["a", "ghost"]
    assert {info.name: info.subscribed for info in await account.list_mailboxes()} == {"INBOX": False, "a": True}
    await account.rename_mailbox("a", "b")
    await account.delete_mailbox("b")
    assert await account.subscriptions() == ["b", "ghost"]  # DELETE keeps it, RFC 3501 §6.3.6
    await account.set_subscribed("ghost", False)
    assert await account.subscriptions() == ["b"]
    assert [e.kind for e in events if e.kind.endswith("subscribed")] == ["subscribed", "subscribed", "unsubscribed"]


@pytest_twisted.ensureDeferred
async def test_rfc3501_6_3_10_status_without_loading(account):
    await account.create_mailbox("Box")
    await account.append("Box", [(message(1), ("\\Seen",), None), (message(2), (), None)])
    status = await account.status("Box")
    assert (status.messages, status.unseen, status.recent, status.uid_next) == (2, 1, 2, 3)
    assert status.size == len(message(1)) + len(message(2))
    assert not any(m.name == "Box" for m in account._open.values())
    opened = await account.open_mailbox("Box")
    assert await account.status("Box") == status and opened is await account.open_mailbox("Box")
    with pytest.raises(NoSuchMailbox):
        await account.status("nope")
