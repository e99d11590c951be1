"""SAVEDATE (RFC 8514) and PREVIEW (RFC 8970) against the real server.

Rows stored before the index kept save dates and previews (schema v4) are
made by clearing those columns in the index between commands, as an older
server would have left them."""

import os
import re
import sqlite3
from datetime import datetime, timedelta

import pytest_twisted
from conftest import in_thread
from cpm_samples import CHAT, SESSION_HISTORY, email
from transcript import LOGIN, Connection, run

from cpmstore.imap.datetimes import parse_date_time

HTML = (b"Subject: html\r\nContent-Type: text/html; charset=us-ascii\r\n\r\n"
        b"<html><head><style>p {}</style></head><body><p>Hi &amp; bye</p><p>again</p></body></html>\r\n")
PLAIN = email("plain", "Hello   world,\r\n  this is a test.\r\n")


def _index(server) -> sqlite3.Connection:
    return sqlite3.connect(server.data_dir / "users" / "user1" / "index.sqlite3", timeout=10, isolation_level=None)


def _set(server, folder: str, column: str, values: dict[int, str | None]) -> None:
    """What an older server left in a row (``column`` is savedate or preview)."""
    db = _index(server)
    try:
        (mailbox_id,) = db.execute("SELECT id FROM mailboxes WHERE name = ?", (folder,)).fetchone()
        for uid, value in values.items():
            db.execute(f"UPDATE messages SET {column} = ? WHERE mailbox_id = ? AND uid = ?", (value, mailbox_id, uid))
    finally:
        db.close()


def _column(server, folder: str, column: str) -> dict[int, str | None]:
    db = _index(server)
    try:
        rows = db.execute(f"SELECT m.uid, m.{column} FROM messages m JOIN mailboxes b ON b.id = m.mailbox_id "
                          "WHERE b.name = ? ORDER BY m.uid", (folder,))
        return dict(rows.fetchall())
    finally:
        db.close()


def _append(conn: Connection, folder: str, message: bytes, date: bytes = b"") -> None:
    conn.send(b"t APPEND %s %s{%d+}\r\n" % (folder.encode(), date + b" " if date else b"", len(message))
              + message + b"\r\n")
    assert conn.until(b"t")[-1].startswith(b"t OK")


def _folder(conn: Connection, folder: str, *messages: bytes, date: bytes = b"") -> None:
    assert conn.command(b"c", b"CREATE " + folder.encode())[-1].startswith(b"c OK")
    for message in messages:
        _append(conn, folder, message, date)


def _savedates(conn: Connection, command: bytes) -> dict[int, datetime | None]:
    found = {}
    for line in conn.command(b"f", command):
        m = re.match(rb'\* (\d+) FETCH \(.*SAVEDATE (NIL|"([^"]+)")', line)
        if m:
            found[int(m.group(1))] = parse_date_time(m.group(3)) if m.group(3) else None
    return found


def _login(port: int) -> Connection:
    conn = Connection(port)
    conn.read_line()
    assert conn.command(b"l", b"LOGIN user1 pass")[-1].startswith(b"l OK")
    return conn


def _open(conn: Connection, command: str) -> None:
    """SELECT or EXAMINE, whose untagged answers other tests check."""
    assert conn.command(b"s", command.encode())[-1].startswith(b"s OK")


def _recent(value: datetime | None) -> bool:
    return value is not None and abs(datetime.now().astimezone() - value) < timedelta(minutes=5)


@pytest_twisted.ensureDeferred
async def test_rfc8514_savedate_capability_and_append(server):
    def scenario():
        conn = run(server.port, LOGIN + """
            C: a1 CAPABILITY
            S: * CAPABILITY ... SAVEDATE PREVIEW ...
            S: a1 OK ...
            C: a2 CREATE saved
            S: a2 OK ...
            C: a3 APPEND saved "05-Oct-2015 10:11:12 +0200" {17+}
            C: Subject: one\\r\\n\\r\\nx
            S: a3 OK [APPENDUID ... 1] Append completed.
        """)
        _open(conn, "SELECT saved")
        run(server.port, """
            C: a5 FETCH 1 (INTERNALDATE SAVEDATE)
            S: * 1 FETCH (INTERNALDATE "05-Oct-2015 10:11:12 +0200" SAVEDATE "...")
            S: a5 OK Fetch completed.
        """, conn)
        # The APPEND's moment, not the message's INTERNALDATE (RFC 8514 §3).
        assert _recent(_savedates(conn, b"FETCH 1 SAVEDATE")[1])

    await in_thread(scenario)


@pytest_twisted.ensureDeferred
async def test_rfc8514_3_copy_and_move_get_their_own_savedate(server):
    def scenario():
        conn = _login(server.port)
        _folder(conn, "src", PLAIN, HTML)
        _folder(conn, "copies")
        _folder(conn, "moved")
        _set(server, "src", "savedate", {1: "2001-01-01T12:00:00+00:00", 2: None})
        _open(conn, "SELECT src")
        before = _savedates(conn, b"FETCH 1:2 SAVEDATE")
        assert before[1] == parse_date_time(b"01-Jan-2001 12:00:00 +0000") and before[2] is None  # §4.2: NIL
        assert conn.command(b"c", b"COPY 1:2 copies")[-1].startswith(b"c OK [COPYUID")
        assert conn.command(b"m", b"MOVE 1 moved")[-1].startswith(b"m OK")
        assert _savedates(conn, b"FETCH 1 SAVEDATE") == {1: None}  # the one left behind keeps its own
        for folder in ("copies", "moved"):
            _open(conn, "EXAMINE " + folder)
            saved = _savedates(conn, b"FETCH 1:* SAVEDATE")
            assert saved and all(_recent(value) for value in saved.values()), (folder, saved)

    await in_thread(scenario)


@pytest_twisted.ensureDeferred
async def test_rfc8514_4_3_search_keys(server):
    def scenario():
        conn = _login(server.port)
        _folder(conn, "searched", PLAIN, PLAIN, PLAIN, date=b'"05-Oct-2015 10:11:12 +0000"')
        _set(server, "searched", "savedate", {1: "2001-01-01T12:00:00+00:00", 2: None})
        today = datetime.now().astimezone().strftime("%d-%b-%Y").encode()
        _open(conn, "SELECT searched")
        run(server.port, """
            C: s2 SEARCH SAVEDON 1-Jan-2001
            S: * SEARCH 1
            S: s2 OK Search completed.
            C: s3 SEARCH SAVEDBEFORE 2-Jan-2001
            S: * SEARCH 1
            S: s3 OK Search completed.
            C: s4 SEARCH SAVEDSINCE 2-Jan-2001
            S: * SEARCH 2 3
            S: s4 OK Search completed.
            C: s5 SEARCH SAVEDON 5-Oct-2015
            S: * SEARCH 2
            S: s5 OK Search completed.
            C: s6 SEARCH SAVEDATESUPPORTED
            S: * SEARCH 1 2 3
            S: s6 OK Search completed.
            C: s7 UID SEARCH NOT SAVEDATESUPPORTED
            S: * SEARCH
            S: s7 OK Search completed.
            C: s8 SEARCH SAVEDSINCE TODAY
            S: * SEARCH 3
            S: s8 OK Search completed.
            C: s9 SEARCH OR SAVEDON 1-Jan-2001 SAVEDON TODAY
            S: * SEARCH 1 3
            S: s9 OK Search completed.
        """.replace("TODAY", today.decode()), conn)

    await in_thread(scenario)


@pytest_twisted.ensureDeferred
async def test_rfc8970_3_preview_and_lazy(server):
    def scenario():
        conn = _login(server.port)
        _folder(conn, "previews", PLAIN, HTML, CHAT, SESSION_HISTORY, b"Subject: nothing\r\n\r\n")
        _open(conn, "SELECT previews")
        run(server.port, """
            C: a3 FETCH 1:* (PREVIEW)
            S: * 1 FETCH (PREVIEW "Hello world, this is a test.")
            S: * 2 FETCH (PREVIEW "Hi & bye again")
            S: * 3 FETCH (PREVIEW {14}\\r\\nBonjour à toi)
            S: * 4 FETCH (PREVIEW "Hello team")
            S: * 5 FETCH (PREVIEW "")
            S: a3 OK Fetch completed.
            C: a4 UID FETCH 3:4 (PREVIEW (LAZY) FLAGS)
            S: * 3 FETCH (UID 3 PREVIEW {14}\\r\\nBonjour à toi FLAGS (\\Recent))
            S: * 4 FETCH (UID 4 PREVIEW "Hello team" FLAGS (\\Recent))
            S: a4 OK Fetch completed.
            C: a5 FETCH 1 PREVIEW (LAZY)
            S: * 1 FETCH (PREVIEW "Hello world, this is a test.")
            S: a5 OK Fetch completed.
            C: a6 FETCH 1 (PREVIEW (FOO))
            S: a6 BAD ...
            C: a7 FETCH 1 (PREVIEW (LAZY FOO))
            S: a7 BAD ...
        """, conn)

    await in_thread(scenario)


@pytest_twisted.ensureDeferred
async def test_rfc8970_3_2_rows_without_preview_compute_it_once(server):
    def scenario():
        conn = _login(server.port)
        _folder(conn, "older", PLAIN, CHAT)
        _set(server, "older", "preview", {1: None, 2: None})
        _open(conn, "EXAMINE older")
        run(server.port, """
            C: a2 FETCH 1:2 (PREVIEW (LAZY))
            S: * 1 FETCH (PREVIEW NIL)
            S: * 2 FETCH (PREVIEW NIL)
            S: a2 OK Fetch completed.
            C: a3 FETCH 2 (PREVIEW)
            S: * 2 FETCH (PREVIEW {14}\\r\\nBonjour à toi)
            S: a3 OK Fetch completed.
            C: a4 FETCH 1:2 (PREVIEW (LAZY))
            S: * 1 FETCH (PREVIEW NIL)
            S: * 2 FETCH (PREVIEW {14}\\r\\nBonjour à toi)
            S: a4 OK Fetch completed.
        """, conn)
        assert _column(server, "older", "preview") == {1: None, 2: "Bonjour à toi"}

    await in_thread(scenario)


@pytest_twisted.ensureDeferred
async def test_savedate_and_preview_survive_restart(start, tmp_path):
    data = tmp_path / "data"
    first = await start(data_dir=data)

    def read(port, fill=False):
        conn = _login(port)
        if fill:
            _folder(conn, "kept", PLAIN, SESSION_HISTORY)
        _open(conn, "EXAMINE kept")
        return [line for line in conn.command(b"f", b"FETCH 1:* (SAVEDATE PREVIEW (LAZY))") if line.startswith(b"*")]

    before = await in_thread(read, first.port, True)
    await first.running.stop()
    second = await start(data_dir=data)
    after = await in_thread(read, second.port)
    assert after == before and len(before) == 2 and b'PREVIEW "Hello team"' in before[1]


@pytest_twisted.ensureDeferred
async def test_rfc8970_preview_of_a_folder_reads_no_message_file(server):
    def scenario():
        conn = _login(server.port)
        _folder(conn, "cached", PLAIN, HTML, CHAT)
        _open(conn, "SELECT cached")
        db = _index(server)
        (mailbox_id,) = db.execute("SELECT id FROM mailboxes WHERE name = 'cached'").fetchone()
        db.close()
        cur = server.data_dir / "users" / "user1" / "mail" / str(mailbox_id) / "cur"
        for name in os.listdir(cur):
            os.remove(cur / name)
        assert os.listdir(cur) == []
        run(server.port, """
            C: a1 FETCH 1:* (PREVIEW)
            S: * 1 FETCH (PREVIEW "Hello world, this is a test.")
            S: * 2 FETCH (PREVIEW "Hi & bye again")
            S: * 3 FETCH (PREVIEW {14}\\r\\nBonjour à toi)
            S: a1 OK Fetch completed.
        """, conn)

    await in_thread(scenario)
