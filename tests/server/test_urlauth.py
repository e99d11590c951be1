"""URLAUTH (RFC 4467), URLAUTH=BINARY (RFC 5524) and URL-PARTIAL (RFC 5550)
against the running server: the owner signs references to a CPM file
transfer, another user fetches the exact bytes, and every way a reference
can go stale or be forged gives NIL."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import pytest_twisted
from conftest import in_thread
from test_binary_catenate import FILE_TRANSFER, JPEG, append, uid_validity
from transcript import logged_in, ok

HOST = "imap://user1@127.0.0.1"


def media(port: int, mailbox: bytes = b"Media"):
    """user1 logged in with ``mailbox`` holding FILE_TRANSFER as UID 1."""
    conn = logged_in(port)
    ok(conn, b"m1", b"CREATE " + mailbox)
    assert append(conn, mailbox, FILE_TRANSFER).startswith(b"ap OK")
    return conn


def genurlauth(conn, *rumps: str) -> list[str]:
    lines = ok(conn, b"g1", b"GENURLAUTH " + b" ".join(b'"%s" INTERNAL' % r.encode() for r in rumps))
    assert lines[0].startswith(b"* GENURLAUTH "), lines
    return lines[0].decode().split()[2:]


def urlfetch(conn, *args: str) -> list[bytes]:
    lines = ok(conn, b"f1", b"URLFETCH " + b" ".join(a.encode() for a in args))
    return lines[:-1]


def fetched(url: str, data: bytes) -> bytes:
    return b"* URLFETCH " + url.encode() + b" {%d}\r\n" % len(data) + data


def nil(url: str) -> bytes:
    return b"* URLFETCH " + url.encode() + b" NIL"


@pytest_twisted.ensureDeferred
async def test_rfc4467_1_capabilities(server):
    def scenario():
        caps = ok(logged_in(server.port), b"a1", b"CAPABILITY")[0].split()
        assert {b"URLAUTH", b"URLAUTH=BINARY", b"URL-PARTIAL"} <= set(caps)
    await in_thread(scenario)


@pytest_twisted.ensureDeferred
async def test_rfc4467_7_genurlauth_then_urlfetch_by_another_user(server):
    def scenario():
        owner = media(server.port)
        whole, by_name, section, mime, partial = genurlauth(
            owner,
            f"{HOST}/Media/;UID=1;URLAUTH=anonymous",
            f"{HOST}/Media/;UID=1;URLAUTH=user+user2",
            f"{HOST}/Media/;UID=1/;SECTION=2;URLAUTH=authuser",
            f"{HOST}/Media/;UID=1/;SECTION=1.MIME;URLAUTH=anonymous",
            f"{HOST}/Media/;UID=1/;SECTION=2/;PARTIAL=0.10;URLAUTH=user+user2")
        assert whole.startswith(f"{HOST}/Media/;UID=1;URLAUTH=anonymous:internal:")
        assert len(whole.rsplit(":", 1)[1]) == 40  # HMAC-SHA1 in hex
        other = logged_in(server.port, b"user2")
        raw_part = FILE_TRANSFER.split(b"base64\r\n\r\n")[1].split(b"--cpm")[0][:-2]
        assert urlfetch(other, whole, by_name, section, mime, partial) == [
            fetched(whole, FILE_TRANSFER),
            fetched(by_name, FILE_TRANSFER),
            fetched(section, raw_part),
            fetched(mime, b"Content-Type: Application/X-CPM-File-Transfer\r\n\r\n"),
            fetched(partial, raw_part[:10]),
        ]
    await in_thread(scenario)


@pytest_twisted.ensureDeferred
async def test_rfc5524_3_binary_and_bodypartstructure_of_media_part(server):
    def scenario():
        owner = media(server.port)
        part, ranged = genurlauth(owner, f"{HOST}/Media/;UID=1/;SECTION=2;URLAUTH=anonymous",
                                  f"{HOST}/Media/;UID=1/;SECTION=2/;PARTIAL=4.10;URLAUTH=anonymous")
        other = logged_in(server.port, b"user2")
        encoded = FILE_TRANSFER.split(b"base64\r\n\r\n")[1].split(b"--cpm")[0][:-2]
        assert urlfetch(other, f"({part} BODYPARTSTRUCTURE BINARY)", f"({part} BODYPARTSTRUCTURE)",
                        f"({ranged} BINARY)", f"({part})") == [
            b"* URLFETCH " + part.encode() + b' (BODYPARTSTRUCTURE ("IMAGE" "JPEG" NIL NIL NIL "BASE64" %d'
            b" NIL NIL NIL NIL) BINARY ~{%d}\r\n" % (len(JPEG), len(JPEG)) + JPEG + b")",
            b"* URLFETCH " + part.encode() + b' (BODYPARTSTRUCTURE ("IMAGE" "JPEG" NIL NIL NIL "BASE64" %d'
            b" NIL NIL NIL NIL))" % len(encoded),
            b"* URLFETCH " + ranged.encode() + b" (BINARY ~{10}\r\n" + JPEG[4:14] + b")",
            b"* URLFETCH " + part.encode() + b" (BODY {%d}\r\n" % len(encoded) + encoded + b")",
        ]
        assert conn_bad(other, f"({part} BODY BINARY)")
        assert conn_bad(other, f"({part} ENVELOPE)")
    await in_thread(scenario)


def conn_bad(conn, arg: str) -> bool:
    return conn.command(b"f9", b"URLFETCH " + arg.encode())[-1].startswith(b"f9 BAD")


@pytest_twisted.ensureDeferred
async def test_rfc4467_7_urlfetch_never_sets_seen(server):
    def scenario():
        owner = media(server.port)
        url, = genurlauth(owner, f"{HOST}/Media/;UID=1;URLAUTH=user+user1")
        assert urlfetch(owner, url) == [fetched(url, FILE_TRANSFER)]
        ok(owner, b"s1", b"EXAMINE Media")
        assert ok(owner, b"s2", b"FETCH 1 FLAGS")[0] == b"* 1 FETCH (FLAGS (\\Recent))"
    await in_thread(scenario)


@pytest_twisted.ensureDeferred
async def test_rfc4467_3_nil_for_forged_foreign_or_unauthorized_urls(server):
    def scenario():
        owner = media(server.port)
        for_user3, anyone = genurlauth(owner, f"{HOST}/Media/;UID=1;URLAUTH=user+user3",
                                       f"{HOST}/Media/;UID=1;URLAUTH=anonymous")
        submit, = genurlauth(owner, f"{HOST}/Media/;UID=1;URLAUTH=submit+user2")
        tampered = anyone[:-4] + ("0000" if not anyone.endswith("0000") else "1111")
        other_rump = anyone.replace("UID=1;", "UID=1/;SECTION=1;")
        other_host = anyone.replace("127.0.0.1", "mail.example.net")
        other_port = anyone.replace("127.0.0.1", "127.0.0.1:1")
        other = logged_in(server.port, b"user2")
        answer = urlfetch(other, for_user3, tampered, other_rump, other_host, other_port, submit,
                          "/Media/;UID=1", f"{HOST}/Media/;UID=1")
        assert [line for line in answer if line.startswith(b"* URLFETCH")] == [
            nil(u) for u in (for_user3, tampered, other_rump, other_host, other_port, submit,
                             "/Media/;UID=1", f"{HOST}/Media/;UID=1")]
        assert all(line.startswith(b"* NO ") for line in answer if not line.startswith(b"* URLFETCH"))
    await in_thread(scenario)


@pytest_twisted.ensureDeferred
async def test_rfc4467_7_resetkey_revokes(server):
    def scenario():
        owner = media(server.port)
        ok(owner, b"c1", b"CREATE Other")
        assert append(owner, b"Other", b"Subject: x\r\n\r\nx\r\n").startswith(b"ap OK")
        media_url, other_url = genurlauth(owner, f"{HOST}/Media/;UID=1;URLAUTH=anonymous",
                                          f"{HOST}/Other/;UID=1;URLAUTH=anonymous")
        assert owner.command(b"r1", b"RESETKEY Media INTERNAL") == [b"r1 OK [URLMECH INTERNAL] Key removed."]
        assert urlfetch(owner, media_url, other_url) == [
            nil(media_url), fetched(other_url, b"Subject: x\r\n\r\nx\r\n")]
        fresh, = genurlauth(owner, f"{HOST}/Media/;UID=1;URLAUTH=anonymous")
        assert fresh != media_url
        assert owner.command(b"r2", b"RESETKEY") == [b"r2 OK All keys removed."]
        assert urlfetch(owner, fresh, other_url) == [nil(fresh), nil(other_url)]
        assert owner.command(b"r3", b"RESETKEY Nosuch")[0].startswith(b"r3 NO [NONEXISTENT]")
        assert owner.command(b"r4", b"RESETKEY Media XSAMPLE")[0].startswith(b"r4 NO")
    await in_thread(scenario)


@pytest_twisted.ensureDeferred
async def test_rfc4467_3_expired_url(server):
    def scenario():
        owner = media(server.port)
        soon = (datetime.now(timezone.utc) + timedelta(seconds=0.6)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        url, = genurlauth(owner, f"{HOST}/Media/;UID=1;EXPIRE={soon};URLAUTH=anonymous")
        assert urlfetch(owner, url) == [fetched(url, FILE_TRANSFER)]
        time.sleep(0.8)
        assert urlfetch(owner, url) == [nil(url), b"* NO Failed to fetch URLAUTH: URLAUTH has expired."]
        past = owner.command(b"g2", f'GENURLAUTH "{HOST}/Media/;UID=1;EXPIRE=2001-01-01T00:00:00Z;'
                                    'URLAUTH=anonymous" INTERNAL'.encode())
        assert past == [b"g2 BAD URLAUTH has already expired"]
    await in_thread(scenario)


@pytest_twisted.ensureDeferred
async def test_rfc4467_7_checked_against_current_state(server):
    """Expunged UID, changed UIDVALIDITY, folder renamed away, owner without r: NIL."""
    def scenario():
        owner = media(server.port)
        assert append(owner, b"Media", b"Subject: two\r\n\r\n2\r\n").startswith(b"ap OK")
        validity = uid_validity(owner, b"Media")
        one, two, pinned, wrong = genurlauth(
            owner, f"{HOST}/Media/;UID=1;URLAUTH=anonymous", f"{HOST}/Media/;UID=2;URLAUTH=anonymous",
            f"{HOST}/Media;UIDVALIDITY={validity}/;UID=1;URLAUTH=anonymous",
            f"{HOST}/Media/;UID=1/;SECTION=1;URLAUTH=anonymous")
        ok(owner, b"e1", b"SELECT Media")
        ok(owner, b"e2", b"STORE 2 +FLAGS (\\Deleted)")
        ok(owner, b"e3", b"EXPUNGE")
        ok(owner, b"e4", b"UNSELECT")
        other = logged_in(server.port, b"user2")
        assert urlfetch(other, two, pinned) == [
            nil(two), b"* NO Failed to fetch URLAUTH: Message not found.", fetched(pinned, FILE_TRANSFER)]
        ok(owner, b"e5", b"RENAME Media Away")
        assert urlfetch(other, one) == [nil(one)]
        ok(owner, b"e6", b"RENAME Away Media")
        assert urlfetch(other, one) == [fetched(one, FILE_TRANSFER)]
        ok(owner, b"e7", b"SETACL Media user1 lwi")
        assert urlfetch(other, one)[0] == nil(one)
        ok(owner, b"e8", b"SETACL Media user1 lrswipkxtea")
        assert urlfetch(other, one) == [fetched(one, FILE_TRANSFER)]
        # Deleted and made again: a new UIDVALIDITY and no key, so old URLs stay dead.
        ok(owner, b"e9", b"DELETE Media")
        ok(owner, b"ea", b"CREATE Media")
        assert append(owner, b"Media", FILE_TRANSFER).startswith(b"ap OK")
        assert urlfetch(other, one, wrong) == [nil(one), nil(wrong)]
    await in_thread(scenario)


@pytest_twisted.ensureDeferred
async def test_rfc4467_7_genurlauth_refusals(server):
    def scenario():
        owner = media(server.port)
        ok(owner, b"s1", b"SETACL Media user2 lr")

        def bad(rump: str, mechanism: str = "INTERNAL") -> bytes:
            return owner.command(b"g9", f'GENURLAUTH "{rump}" {mechanism}'.encode())[-1]
        assert bad(f"{HOST}/Media/;UID=1;URLAUTH=anonymous", "XSAMPLE") == \
            b"g9 BAD Unsupported URLAUTH mechanism: XSAMPLE"
        assert bad(f"{HOST}/Media/;UID=1") == b"g9 BAD Invalid URL: Must be an URLAUTH rump URL"
        assert bad("/Media/;UID=1;URLAUTH=anonymous") == b"g9 BAD Relative URL not allowed"
        assert bad("imap://user2@127.0.0.1/Media/;UID=1;URLAUTH=anonymous") == \
            b"g9 BAD Not permitted to generate URLAUTH for user user2"
        assert bad(f"{HOST}/Nosuch/;UID=1;URLAUTH=anonymous") == \
            b"g9 BAD Invalid URL: Mailbox doesn't exist: Nosuch"
        assert bad(f"{HOST}/Media/;UID=9;URLAUTH=anonymous") == b"g9 BAD Invalid URL: Message not found"
        assert bad(f"{HOST}/Media;UIDVALIDITY=1/;UID=1;URLAUTH=anonymous") == \
            b"g9 BAD Invalid URL: Invalid UIDVALIDITY"
        assert bad("imap://user1@mail.example.net/Media/;UID=1;URLAUTH=anonymous") == \
            b"g9 BAD Invalid URL: Inappropriate server host"
        # A grantee may read the folder, but the key is the owner's to use.
        grantee = logged_in(server.port, b"user2")
        answer = grantee.command(b"g8", b'GENURLAUTH "imap://user2@127.0.0.1/Other Users/user1/Media/;UID=1;'
                                        b'URLAUTH=anonymous" INTERNAL')
        assert answer[-1].startswith(b"g8 BAD")
    await in_thread(scenario)


@pytest_twisted.ensureDeferred
async def test_rfc4467_7_configured_hostname_and_keys_survive_restart(start):
    first = await start(hostname="Mail.Example.COM")
    urls: list[str] = []

    def before():
        owner = media(first.port)
        urls.extend(genurlauth(owner, "imap://user1@mail.example.com/Media/;UID=1/;SECTION=3;URLAUTH=authuser"))
        assert urlfetch(owner, urls[0]) == [fetched(urls[0], b"caf=C3=A9")]
    await in_thread(before)
    await first.running.stop()
    second = await start(data_dir=first.data_dir, hostname="mail.example.com")

    def after():
        other = logged_in(second.port, b"user2")
        assert urlfetch(other, urls[0]) == [fetched(urls[0], b"caf=C3=A9")]
    await in_thread(after)
