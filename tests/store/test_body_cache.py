"""The body cache (``store.mailbox.BODIES``): the bytes of small messages an
open folder received or had read lately, so that FETCHing a message just
delivered needs no worker thread. What it returns must be exactly what the
message file holds (RFC 3501 §6.4.5 BODY[]: the stored octets), and nothing
of a message that is gone: not after EXPUNGE, not in a folder deleted and
created again with the same name, whose UIDs start over."""

from __future__ import annotations

import pytest
import pytest_twisted

from cpmstore.store.mailbox import BodyCache


def test_cache_keeps_the_most_recently_used_within_its_budget():
    cache = BodyCache(budget=10, largest=6)
    cache.put((1, 1), b"aaaa")
    cache.put((1, 2), b"bbbb")
    assert cache.get((1, 1)) == b"aaaa"  # now the most recently used
    cache.put((1, 3), b"cccc")  # 12 bytes: the least recently used (UID 2) goes
    assert cache.get((1, 2)) is None
    assert cache.get((1, 1)) == b"aaaa" and cache.get((1, 3)) == b"cccc"
    assert cache.held == 8 and len(cache) == 2
    cache.put((1, 4), b"toolarge")  # over ``largest``: never kept
    assert cache.get((1, 4)) is None and cache.held == 8
    cache.put((1, 3), b"cc")  # replaced, counted once
    cache.discard((1, 1))
    assert cache.held == 2 and cache.get((1, 3)) == b"cc"


def _file_bytes(mailbox, uid: int) -> bytes:
    with open(mailbox.path(uid), "rb") as f:
        return f.read()


@pytest_twisted.ensureDeferred
async def test_a_message_appended_to_an_open_folder_reads_as_its_file(account):
    inbox = await account.open_mailbox("INBOX")
    await account.append("INBOX", [(b"Subject: bare\n\nline 1\nline 2\n", (), None)])
    cached = inbox.cached_body(1)
    assert cached == b"Subject: bare\r\n\r\nline 1\r\nline 2\r\n"  # stored as written: CRLF
    assert await inbox.read(1) == cached == _file_bytes(inbox, 1)
    assert inbox.size_of(1) == len(cached)


@pytest_twisted.ensureDeferred
async def test_expunged_messages_leave_the_cache(account):
    inbox = await account.open_mailbox("INBOX")
    await account.append("INBOX", [(b"Subject: one\r\n\r\n1\r\n", ("\\Deleted",), None),
                                   (b"Subject: two\r\n\r\n2\r\n", (), None)])
    assert inbox.cached_body(1) is not None
    assert await account.expunge(inbox) == [1]
    assert inbox.cached_body(1) is None
    with pytest.raises(KeyError):
        await inbox.read(1)
    assert await inbox.read(2) == _file_bytes(inbox, 2)


@pytest_twisted.ensureDeferred
async def test_a_folder_created_again_never_answers_with_the_old_bytes(account):
    await account.create_mailbox("Chat")
    chat = await account.open_mailbox("Chat")
    await account.append("Chat", [(b"Subject: old\r\n\r\nold folder\r\n", (), None)])
    assert chat.cached_body(1) == b"Subject: old\r\n\r\nold folder\r\n"
    await account.delete_mailbox("Chat")
    await account.create_mailbox("Chat")
    again = await account.open_mailbox("Chat")
    await account.append("Chat", [(b"Subject: new\r\n\r\nnew folder\r\n", (), None)])
    assert again.uids[0] == 1  # UIDs start over under a new UIDVALIDITY
    assert await again.read(1) == b"Subject: new\r\n\r\nnew folder\r\n" == _file_bytes(again, 1)


@pytest_twisted.ensureDeferred
async def test_bodies_read_from_files_are_kept_only_while_the_message_is_there(account):
    await account.append("INBOX", [(b"Subject: r\r\n\r\nread\r\n", ("\\Deleted",), None)])
    inbox = await account.open_mailbox("INBOX")  # opened after the APPEND: nothing cached yet
    assert inbox.cached_body(1) is None
    data = await inbox.read(1)
    inbox.remember_body(1, data)
    assert inbox.cached_body(1) == data == _file_bytes(inbox, 1)
    await account.expunge(inbox)
    inbox.remember_body(1, data)  # a read that finished after the expunge
    assert inbox.cached_body(1) is None
