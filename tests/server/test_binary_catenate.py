"""BINARY (RFC 3516) and CATENATE (RFC 4469) against the running server: a CPM
file-transfer history whose JPEG travels base64-encoded is fetched back as the
exact media bytes, literal8 messages are stored as sent, and messages are
built on the server from text and IMAP URLs, within the user's rights."""

from __future__ import annotations

import base64
import re

import pytest_twisted
from conftest import in_thread
from transcript import Connection, logged_in, ok

from cpmstore.config import LimitsConfig

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) + b"\r\n\x00\xff\xd9"
FILE_TRANSFER = (
    b"From: <sip:alice@example.com>\r\nTo: <sip:bob@example.com>\r\nSubject: photo\r\n"
    b"Conversation-ID: f81d4fae\r\nContribution-ID: abcd\r\n"
    b'Content-Type: multipart/related; boundary=cpm; type="Application/X-CPM-File-Transfer"\r\n\r\n'
    b"--cpm\r\nContent-Type: Application/X-CPM-File-Transfer\r\n\r\n<file-transfer-type>send</file-transfer-type>\r\n"
    b"--cpm\r\nContent-Type: image/jpeg\r\nContent-Transfer-Encoding: base64\r\n\r\n"
    + base64.encodebytes(JPEG).replace(b"\n", b"\r\n")
    + b"--cpm\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
    b"caf=C3=A9\r\n"
    b"--cpm\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: 8bit\r\n\r\nplain \xc3\xa9\r\n"
    b"--cpm\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: x-uuencode\r\n\r\nbegin\r\n"
    b"--cpm--\r\n"
)


def append(conn: Connection, mailbox: bytes, data: bytes, marker: bytes = b"{%d+}") -> bytes:
    conn.send(b"ap APPEND " + mailbox + b" " + marker % len(data) + b"\r\n" + data + b"\r\n")
    return conn.until(b"ap")[-1]


def with_file_transfer(port: int, mailbox: bytes) -> Connection:
    """user1 logged in, ``mailbox`` created and holding FILE_TRANSFER as UID 1."""
    conn = logged_in(port)
    ok(conn, b"a1", b"CREATE " + mailbox)
    assert append(conn, mailbox, FILE_TRANSFER).startswith(b"ap OK")
    return conn


def uid_validity(conn: Connection, mailbox: bytes) -> int:
    lines = ok(conn, b"st", b"STATUS " + mailbox + b" (UIDVALIDITY)")
    return int(re.search(rb"UIDVALIDITY (\d+)", lines[0]).group(1))


def body(conn: Connection, mailbox: bytes, uid: int) -> bytes:
    """The stored bytes of message ``uid``; leaves ``mailbox`` examined."""
    ok(conn, b"ex", b"EXAMINE " + mailbox)
    lines = ok(conn, b"fb", b"UID FETCH %d BODY.PEEK[]" % uid)
    head, _, rest = lines[0].partition(b"}\r\n")
    return rest[:int(head.rsplit(b"{", 1)[1])]


@pytest_twisted.ensureDeferred
async def test_rfc3516_4_1_and_rfc4469_2_capabilities(server):
    def scenario():
        conn = logged_in(server.port)
        caps = ok(conn, b"a1", b"CAPABILITY")[0].split()
        assert b"BINARY" in caps and b"CATENATE" in caps
    await in_thread(scenario)


@pytest_twisted.ensureDeferred
async def test_rfc3516_4_2_fetch_binary_media_part_exact(server):
    def scenario():
        conn = with_file_transfer(server.port, b"Media")
        ok(conn, b"a2", b"SELECT Media")
        assert conn.command(b"a3", b"FETCH 1 BINARY.PEEK[2]") == [
            b"* 1 FETCH (BINARY[2] ~{%d}\r\n" % len(JPEG) + JPEG + b")", b"a3 OK Fetch completed."]
        assert conn.command(b"a4", b"FETCH 1 (BINARY.SIZE[2] BINARY.SIZE[3] BINARY.SIZE[9])")[0] == \
            b"* 1 FETCH (BINARY.SIZE[2] %d BINARY.SIZE[3] 5 BINARY.SIZE[9] 0)" % len(JPEG)
        assert conn.command(b"a5", b"FETCH 1 BINARY.PEEK[2]<4.10>")[0] == \
            b"* 1 FETCH (BINARY[2]<4> ~{10}\r\n" + JPEG[4:14] + b")"
        # 8bit text without NUL is a plain literal; a missing part is empty.
        assert conn.command(b"a6", b"FETCH 1 (BINARY.PEEK[4] BINARY.PEEK[9])")[0] == \
            b"* 1 FETCH (BINARY[4] {8}\r\nplain \xc3\xa9 BINARY[9] {0}\r\n)"
        # The stored message is untouched.
        assert body(conn, b"Media", 1) == FILE_TRANSFER
    await in_thread(scenario)


@pytest_twisted.ensureDeferred
async def test_rfc3516_4_3_unknown_cte_and_seen(server):
    def scenario():
        conn = with_file_transfer(server.port, b"Media")
        ok(conn, b"a2", b"SELECT Media")
        assert conn.command(b"a3", b"FETCH 1 BINARY.PEEK[5]") == [
            b"a3 NO [UNKNOWN-CTE] Unknown Content-Transfer-Encoding."]
        assert conn.command(b"a4", b"FETCH 1 BINARY.SIZE[]")[-1].startswith(b"a4 NO [UNKNOWN-CTE]")
        assert conn.command(b"a5", b"FETCH 1 FLAGS")[0] == b"* 1 FETCH (FLAGS (\\Recent))"
        # BINARY (not .PEEK) sets \Seen like BODY[] (RFC 3516 §4.2).
        lines = conn.command(b"a6", b"FETCH 1 BINARY[3]")
        assert lines[0] == b"* 1 FETCH (BINARY[3] ~{5}\r\ncaf\xc3\xa9 FLAGS (\\Seen \\Recent))"
    await in_thread(scenario)


@pytest_twisted.ensureDeferred
async def test_rfc3516_4_4_append_literal8_binary_part_survives_both_fetches(server):
    """A binary part holding NUL is stored base64 (RFC 3516 §4.4, as
    Dovecot): BODY[] carries no NUL (RFC 3501 §9) and decodes to the JPEG,
    BINARY[] gives back the sent octets, and the sizes agree with BODY[]."""
    message = (b"Subject: raw\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
               b"--b\r\nContent-Type: image/jpeg\r\nContent-Transfer-Encoding: binary\r\n\r\n" + JPEG +
               b"\r\n--b--\r\n")

    def scenario():
        conn = logged_in(server.port)
        ok(conn, b"a1", b"CREATE Raw")
        assert append(conn, b"Raw", message, b"~{%d}").startswith(b"ap OK [APPENDUID")
        assert append(conn, b"Raw", message, b"~{%d+}").startswith(b"ap OK [APPENDUID")
        ok(conn, b"a2", b"SELECT Raw")
        stored = body(conn, b"Raw", 1)
        assert stored == body(conn, b"Raw", 2)
        assert b"\x00" not in stored
        assert b"Content-Transfer-Encoding: base64\r\n" in stored
        assert b"RFC822.SIZE %d" % len(stored) in ok(conn, b"a3", b"FETCH 1 RFC822.SIZE")[0]
        part = ok(conn, b"a4", b"FETCH 1 BODY.PEEK[1]")[0]
        encoded = part.partition(b"}\r\n")[2][:-1]
        assert base64.b64decode(encoded) == JPEG
        assert conn.command(b"a5", b"FETCH 2 BINARY.PEEK[1]")[0] == \
            b"* 2 FETCH (BINARY[1] ~{%d}\r\n" % len(JPEG) + JPEG + b")"
        assert conn.command(b"a6", b"FETCH 2 BINARY.PEEK[]")[0] == \
            b"* 2 FETCH (BINARY[] ~{%d}\r\n" % len(message) + message + b")"
    await in_thread(scenario)


@pytest_twisted.ensureDeferred
async def test_rfc3516_4_4_append_literal8_without_nul_is_stored_as_sent(server):
    """8-bit octets and bare LF are data in a literal8: nothing is rewritten."""
    message = (b"Subject: raw\r\nContent-Type: application/octet-stream\r\n"
               b"Content-Transfer-Encoding: binary\r\n\r\n\xff\xfe\nbare\rcr\x01\r\n")

    def scenario():
        conn = logged_in(server.port)
        ok(conn, b"a1", b"CREATE Raw")
        assert append(conn, b"Raw", message, b"~{%d}").startswith(b"ap OK [APPENDUID")
        assert body(conn, b"Raw", 1) == message
    await in_thread(scenario)


@pytest_twisted.ensureDeferred
async def test_rfc3501_9_nul_outside_a_binary_part_goes_as_0x80(server):
    """A NUL the store keeps (here in a part not labelled binary) cannot go in
    a plain literal (CHAR8): BODY[] sends 0x80 in its place, keeping the octet
    count; BINARY[] sends the NUL in a literal8. Dovecot answers the same."""
    message = (b"Subject: raw\r\nContent-Type: application/octet-stream\r\n\r\nab\x00cd\r\n")

    def scenario():
        conn = logged_in(server.port)
        ok(conn, b"a1", b"CREATE Raw")
        assert append(conn, b"Raw", message, b"~{%d}").startswith(b"ap OK [APPENDUID")
        assert body(conn, b"Raw", 1) == message.replace(b"\x00", b"\x80")
        assert conn.command(b"a2", b"FETCH 1 BINARY.PEEK[]")[0] == \
            b"* 1 FETCH (BINARY[] ~{%d}\r\n" % len(message) + message + b")"
    await in_thread(scenario)


@pytest_twisted.ensureDeferred
async def test_rfc4469_3_catenate_text_and_urls(server):
    def scenario():
        conn = with_file_transfer(server.port, b"Drafts")
        validity = uid_validity(conn, b"Drafts")
        url = b"/Drafts;UIDVALIDITY=%d/;UID=1" % validity
        sep = b"\r\n--cpm\r\n"
        conn.send(b'c1 APPEND Drafts (\\Seen) CATENATE (URL "' + url + b'/;SECTION=HEADER" TEXT {%d}\r\n' % len(sep))
        assert conn.read_line().startswith(b"+")
        conn.send(sep + b' URL "' + url + b'/;section=2.MIME" URL "' + url + b'/;SECTION=2" TEXT {9+}\r\n'
                  b"\r\n--cpm--)\r\n")
        assert conn.until(b"c1")[-1] == b"c1 OK [APPENDUID %d 2] Append completed." % validity
        header = FILE_TRANSFER[:FILE_TRANSFER.index(b"\r\n\r\n") + 4]
        mime = b"Content-Type: image/jpeg\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        encoded = base64.encodebytes(JPEG).replace(b"\n", b"\r\n")[:-2]
        assert body(conn, b"Drafts", 2) == header + sep + mime + encoded + b"\r\n--cpm--"
        # The new message decodes to the same media.
        ok(conn, b"c2", b"SELECT Drafts")
        assert conn.command(b"c3", b"FETCH 2 BINARY.PEEK[1]")[0] == \
            b"* 2 FETCH (BINARY[1] ~{%d}\r\n" % len(JPEG) + JPEG + b")"
        # Relative to the selected mailbox, absolute for this server and user, PARTIAL.
        ok(conn, b"c4", b'APPEND Drafts CATENATE (URL ";UID=1/;SECTION=4" URL "imap://user1@localhost/Drafts/;UID=1/;SECTION=3"'
                        b' URL "/Drafts/;UID=1/;PARTIAL=11.5")')
        assert body(conn, b"Drafts", 3) == b"plain \xc3\xa9caf=C3=A9alice"
        # The catenated parts were not marked \Seen (RFC 4469 §3).
        assert conn.command(b"c5", b"FETCH 1 FLAGS")[0] == b"* 1 FETCH (FLAGS ())"
    await in_thread(scenario)


@pytest_twisted.ensureDeferred
async def test_rfc4469_4_1_badurl_and_all_or_none(server):
    def scenario():
        conn = with_file_transfer(server.port, b"Drafts")
        validity = uid_validity(conn, b"Drafts")
        for url, why in [
            (b"/Drafts;UIDVALIDITY=%d/;UID=1" % (validity + 1), b"Invalid UIDVALIDITY."),
            (b"/Drafts/;UID=9", b"Message not found."),
            (b"/Nowhere/;UID=1", b"Mailbox doesn't exist or can't be read: Nowhere"),
            (b"/Drafts", b"The URL must name a message or message part."),
            (b";UID=1", b"Invalid IMAP URL: Mailbox-relative URL without a base mailbox"),
            (b"imap://user2@localhost/Drafts/;UID=1", b"The URL must name this server and this user."),
            (b"imap://user1@elsewhere.example/Drafts/;UID=1", b"The URL must name this server and this user."),
            (b"imap://user1@localhost/Drafts/;UID=1;URLAUTH=anonymous", b"URLAUTH URLs are not accepted in APPEND."),
            (b"/Drafts/;UID=1/;URLAUTH=anonymous", b"Invalid IMAP URL: Invalid message part"),
            (b"/Drafts/;UID=1/;SECTION=1.FOO", b"Invalid section 1.FOO"),
        ]:
            assert conn.command(b"b1", b'APPEND Drafts CATENATE (URL "' + url + b'")') == [
                b"b1 NO [BADURL " + url + b"] " + why], url
        # MULTIAPPEND: the bad URL of the second message stores nothing at all.
        lines = conn.command(b"b2", b'APPEND Drafts {1+}\r\nx CATENATE (URL "/Drafts/;UID=1") CATENATE (URL "/Drafts/;UID=7")')
        assert lines == [b"b2 NO [BADURL /Drafts/;UID=7] Message not found."]
        assert ok(conn, b"b3", b"STATUS Drafts (MESSAGES UIDNEXT)")[0] == b"* STATUS Drafts (MESSAGES 1 UIDNEXT 2)"
        # The target is checked first (RFC 3501 §6.3.11 TRYCREATE), as Dovecot.
        assert conn.command(b"b4", b'APPEND Nowhere CATENATE (URL "/Drafts/;UID=7")')[-1].startswith(
            b"b4 NO [TRYCREATE]")
    await in_thread(scenario)


@pytest_twisted.ensureDeferred
async def test_rfc4469_3_urls_go_through_the_rights_check(server):
    def scenario():
        owner = logged_in(server.port)
        ok(owner, b"a1", b"CREATE Shared")
        ok(owner, b"a2", b"CREATE Private")
        append(owner, b"Shared", FILE_TRANSFER)
        append(owner, b"Private", FILE_TRANSFER)
        ok(owner, b"a3", b"SETACL Shared user2 lr")
        ok(owner, b"a4", b"SETACL Private user2 l")  # sees it, may not read it
        reader = logged_in(server.port, b"user2")
        ok(reader, b"b1", b'APPEND INBOX CATENATE (URL "/Other%20Users/user1/Shared/;UID=1/;SECTION=3")')
        assert body(reader, b"INBOX", 1) == b"caf=C3=A9"
        url = b"/Other%20Users/user1/Private/;UID=1"
        assert reader.command(b"b2", b'APPEND INBOX CATENATE (URL "' + url + b'")') == [
            b"b2 NO [BADURL " + url + b"] Mailbox doesn't exist or can't be read: Other Users/user1/Private"]
        url = b"imap://user1@localhost/Shared/;UID=1"
        assert reader.command(b"b3", b'APPEND INBOX CATENATE (URL "' + url + b'")')[-1].startswith(b"b3 NO [BADURL")
    await in_thread(scenario)


@pytest_twisted.ensureDeferred
async def test_rfc4469_4_2_toobig(start):
    server = await start(limits=LimitsConfig(login_failure_delay=0.0, max_literal_bytes=2000))

    def scenario():
        conn = with_file_transfer(server.port, b"Drafts")
        lines = conn.command(b"b1", b'APPEND Drafts CATENATE (URL "/Drafts/;UID=1" URL "/Drafts/;UID=1" URL "/Drafts/;UID=1")')
        assert lines == [b"b1 NO [TOOBIG] Message too large (limit 2000 bytes)."]
        assert ok(conn, b"b2", b"STATUS Drafts (MESSAGES)")[0] == b"* STATUS Drafts (MESSAGES 1)"
    await in_thread(scenario)
