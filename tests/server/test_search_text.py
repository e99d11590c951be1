"""SEARCH TEXT and BODY (RFC 3501 §6.4.4) through the text index
(store/texts.py): the same answers whether a message's keys come from the
index (written at APPEND, carried by COPY and MOVE) or from its file (a row
lost, never written, or not naming the file any more), and the index's rows
follow the messages."""

from __future__ import annotations

import base64
import sqlite3

import pytest_twisted
from conftest import in_thread
from cpm_samples import CHAT, email
from imapclient import IMAPClient

from cpmstore.store.texts import TEXTS_FILE

MESSAGES = [
    email("Lunch plans", "see you at noon\r\n"),  # 1
    email("=?utf-8?q?d=C3=A9j=C3=A0_vu?=", "nothing to add\r\n", sender="bob@example.org"),  # 2
    CHAT,  # 3: the text is inside message/cpim: "Bonjour à toi"
    ("Subject: latin\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=iso-8859-1\r\n"
     "Content-Transfer-Encoding: base64\r\n\r\n").encode()
    + base64.b64encode("Café at noon".encode("latin-1")) + b"\r\n",  # 4
    email("Report", "NOON is when the numbers come\r\n", sender="carol@example.net"),  # 5
]

# (criteria, the UIDs that match, imapclient searching by UID): TEXT looks in header and body,
# BODY only in the decoded text parts, both case-insensitively (i;unicode-casemap).
EXPECTED = [
    (["TEXT", "noon"], [1, 4, 5]),
    (["BODY", "noon"], [1, 4, 5]),
    (["TEXT", "lunch"], [1]),
    (["BODY", "lunch"], []),
    (["TEXT", "DÉJÀ"], [2]),  # an RFC 2047 encoded word, decoded
    (["BODY", "café"], [4]),  # base64 in ISO-8859-1, decoded
    (["BODY", "bonjour à"], [3]),  # the CPM chat text inside message/cpim
    (["TEXT", "Msg0001"], [3]),  # a CPM header
    (["BODY", "Msg0001"], []),
    (["TEXT", "carol@"], [5]),
    (["OR", "BODY", "café", "TEXT", "lunch"], [1, 4]),
    (["NOT", "TEXT", "noon"], [2, 3]),
    (["FLAGGED", "TEXT", "noon"], [5]),
    (["TEXT", "noon", "BODY", "numbers"], [5]),
    (["TEXT", "nowhere at all"], []),
]


def client(server) -> IMAPClient:
    c = IMAPClient("127.0.0.1", server.port, ssl=False)
    c.login("user1", "pass")
    return c


def answers(c: IMAPClient) -> list[list[int]]:
    c.select_folder("INBOX")
    return [sorted(c.search(criteria, charset="UTF-8")) for criteria, _ in EXPECTED]


def user_dir(server):
    return server.data_dir / "users" / "user1"


def rows(server, folder: str) -> list[int]:
    """The UIDs the text index has a row for in ``folder``."""
    with sqlite3.connect(user_dir(server) / "index.sqlite3") as index:
        (mailbox_id,) = index.execute("SELECT id FROM mailboxes WHERE name = ?", (folder,)).fetchone()
    with sqlite3.connect(user_dir(server) / TEXTS_FILE) as texts:
        return [uid for (uid,) in texts.execute("SELECT uid FROM texts WHERE mailbox_id = ? ORDER BY uid",
                                                (mailbox_id,))]


def fill(server) -> None:
    c = client(server)
    for message in MESSAGES:
        c.append("INBOX", message)
    c.select_folder("INBOX")
    c.add_flags([5], [b"\\Flagged"])
    c.logout()


@pytest_twisted.ensureDeferred
async def test_rfc3501_6_4_4_text_and_body_from_the_index_and_from_the_files(start, tmp_path):
    first = await start(data_dir=tmp_path / "data")
    await in_thread(fill, first)
    # APPEND wrote a row per message: the searches need no file.
    assert await in_thread(rows, first, "INBOX") == [1, 2, 3, 4, 5]
    from_index = await in_thread(lambda: answers(client(first)))
    assert from_index == [expected for _, expected in EXPECTED]
    await first.running.stop()

    # Without the text index (lost, or a store from before it): the same
    # answers, from the files, and the rows are written again on the way.
    for suffix in ("", "-wal", "-shm"):
        (user_dir(first) / (TEXTS_FILE + suffix)).unlink(missing_ok=True)
    second = await start(data_dir=tmp_path / "data")
    assert await in_thread(lambda: answers(client(second))) == from_index
    assert await in_thread(rows, second, "INBOX") == [1, 2, 3, 4, 5]
    assert await in_thread(lambda: answers(client(second))) == from_index
    await second.running.stop()

    # A damaged file is begun anew; the answers stay right.
    (user_dir(first) / TEXTS_FILE).write_bytes(b"this is not an SQLite database" * 100)
    third = await start(data_dir=tmp_path / "data")
    assert await in_thread(lambda: answers(client(third))) == from_index
    assert await in_thread(rows, third, "INBOX") == [1, 2, 3, 4, 5]


@pytest_twisted.ensureDeferred
async def test_a_row_that_does_not_name_the_file_is_not_believed(server):
    await in_thread(fill, server)

    def scenario():
        # A row whose keys are not those of its message's file (as after an
        # index restored from an older copy gave the UID to other bytes).
        with sqlite3.connect(user_dir(server) / TEXTS_FILE) as texts:
            texts.execute("UPDATE texts SET body = CAST('ZEBRA' AS BLOB), file_unique = file_unique + 1 WHERE uid = 2")
        c = client(server)
        c.select_folder("INBOX")
        assert c.search(["BODY", "zebra"]) == []
        assert c.search(["BODY", "nothing to add"]) == [2]
        # ... and it was replaced by the keys of the file.
        with sqlite3.connect(user_dir(server) / TEXTS_FILE) as texts:
            (body,) = texts.execute("SELECT body FROM texts WHERE uid = 2").fetchone()
        assert body == b"NOTHING TO ADD\r\n"

    await in_thread(scenario)


@pytest_twisted.ensureDeferred
async def test_rows_follow_copy_move_expunge_and_delete(server):
    await in_thread(fill, server)

    def scenario():
        c = client(server)
        c.create_folder("Copies")
        c.create_folder("Moved")
        c.select_folder("INBOX")
        c.copy([1, 4], "Copies")  # UIDs 1, 2 there
        assert rows(server, "Copies") == [1, 2]  # carried, not computed by a search
        c.move([5], "Moved")
        assert rows(server, "Moved") == [1]
        assert rows(server, "INBOX") == [1, 2, 3, 4]
        c.add_flags([1], [b"\\Deleted"])
        c.expunge()
        assert rows(server, "INBOX") == [2, 3, 4]
        assert c.search(["TEXT", "noon"]) == [4]  # imapclient speaks UIDs: 1 is gone, 5 moved
        c.select_folder("Copies")
        assert c.search(["BODY", "noon"]) == [1, 2]
        c.select_folder("Moved")
        assert c.search(["TEXT", "numbers"]) == [1]
        c.close_folder()
        c.delete_folder("Copies")
        with sqlite3.connect(user_dir(server) / TEXTS_FILE) as texts:
            assert texts.execute("SELECT count(*) FROM texts").fetchone()[0] == 4  # INBOX 3, Moved 1

    await in_thread(scenario)
