"""Isolation (issue 10): a user granted nothing never lists, reads, fetches
by reference or hears of changes to another user's folders, whatever path
they try. Extends the ACL authorization fuzz (tests/server/test_acl.py), which
covers every folder-naming command, with the paths that reach messages
without naming a folder: URLs (URLFETCH, GENURLAUTH, CATENATE) and the
change bus (IDLE, NOTIFY)."""

from __future__ import annotations

import re
import socket

import pytest_twisted
from conftest import in_thread
from imapsession import append
from transcript import Connection, logged_in as _login, ok as _ok

HOST = "imap://user1@127.0.0.1"
SECRET = b"Subject: secret\r\nX-Id: s1\r\n\r\nthe launch code is 0000\r\n"


def _append(conn: Connection, folder: bytes, message: bytes = SECRET) -> None:
    assert append(conn, folder, message).startswith(b"ap OK")


def _owner_with_secrets(port: int) -> tuple[Connection, int]:
    owner = _login(port, b"user1")
    _ok(owner, b"c1", b"CREATE Secret")
    _ok(owner, b"c2", b"CREATE Chats")
    _ok(owner, b"c3", b"SETACL Chats user3 lr")  # shared with someone else, not with user2
    _append(owner, b"Secret")
    _append(owner, b"Chats")
    lines = _ok(owner, b"s", b"SELECT Secret")
    validity = int(re.search(rb"UIDVALIDITY (\d+)", b"".join(lines)).group(1))
    return owner, validity


@pytest_twisted.ensureDeferred
async def test_no_listing_pattern_shows_another_users_folders(server):
    def scenario() -> None:
        owner, _ = _owner_with_secrets(server.port)
        intruder = _login(server.port, b"user2")
        for pattern in (b'"" "*"', b'"" "%"', b'"" "Other Users/*"', b'"" "Other Users/%"',
                        b'"" "Other Users/user1/*"', b'"" "*Secret*"', b'"Other Users/user1/" "*"',
                        b'(SUBSCRIBED) "" "*" RETURN (STATUS (MESSAGES))', b'"" "*" RETURN (CHILDREN SPECIAL-USE)'):
            lines = _ok(intruder, b"t", b"LIST " + pattern)
            assert not any(b"user1" in line or b"Secret" in line or b"Chats" in line for line in lines), lines
        lines = _ok(intruder, b"t", b'LSUB "" "*"')
        assert not any(b"user1" in line for line in lines)
        # The control: user3, granted lr on Chats, sees it (and only it).
        control = _login(server.port, b"user3")
        lines = b"".join(_ok(control, b"t", b'LIST "" "*"'))
        assert b"Other Users/user1/Chats" in lines and b"Secret" not in lines
        control.close()
        owner.close()
        intruder.close()

    await in_thread(scenario)


@pytest_twisted.ensureDeferred
async def test_no_url_reaches_another_users_message(server):
    """RFC 4467: a URL is only as good as the rights of the user it names,
    and a user cannot sign URLs for a folder they cannot read (§7: the
    mailbox access key belongs to the owner)."""
    def scenario() -> None:
        owner, validity = _owner_with_secrets(server.port)
        rump = f"{HOST}/Secret;UIDVALIDITY={validity}/;UID=1"
        signed = _ok(owner, b"g", f'GENURLAUTH "{rump};URLAUTH=user+user3" INTERNAL'.encode())[0].split()[2].decode()
        intruder = _login(server.port, b"user2")
        # Signed for user3, fetched by user2: NIL, and NIL is all it says.
        assert _ok(intruder, b"f1", b"URLFETCH " + signed.encode())[0] == b"* URLFETCH " + signed.encode() + b" NIL"
        control = _login(server.port, b"user3")  # the user it was signed for gets the message
        assert b"launch code" in _ok(control, b"f1", b"URLFETCH " + signed.encode())[0]
        control.close()
        # user2 cannot sign a URL to user1's folder, for anyone.
        for access in ("anonymous", "authuser", "user+user2"):
            answer = intruder.command(b"g2", f'GENURLAUTH "{rump};URLAUTH={access}" INTERNAL'.encode())
            assert answer[-1].startswith((b"g2 NO", b"g2 BAD")), answer
            assert not any(b"launch" in line for line in answer)
        # A forged token of the right shape.
        forged = f"{rump};URLAUTH=anonymous:internal:" + "0" * 40
        assert _ok(intruder, b"f3", b"URLFETCH " + forged.encode())[0].endswith(b" NIL")
        # CATENATE with a URL into user1's folder copies nothing.
        url = f"/Other Users/user1/Secret;UIDVALIDITY={validity}/;UID=1".replace(" ", "%20")
        answer = intruder.command(b"a1", f'APPEND INBOX CATENATE (URL "{url}")'.encode())
        assert answer[-1].startswith(b"a1 NO [BADURL"), answer
        assert not any(b"launch" in line for line in _ok(intruder, b"x", b"EXAMINE INBOX")
                       + intruder.command(b"y", b"FETCH 1:* BODY.PEEK[]"))
        owner.close()
        intruder.close()

    await in_thread(scenario)


def _quiet(conn: Connection, seconds: float = 0.5) -> bytes:
    """Whatever the server pushes unasked within ``seconds``."""
    conn.sock.settimeout(seconds)
    try:
        chunk = conn.sock.recv(65536)
    except (socket.timeout, TimeoutError):
        chunk = b""
    finally:
        conn.sock.settimeout(10)
    return conn.buf + chunk


@pytest_twisted.ensureDeferred
async def test_no_notification_about_another_users_folders(server):
    """The change bus delivers to a session only what it may see (RFC 5465
    §5, RFC 4314): user2 asks NOTIFY for everything it can name, idles, and
    hears nothing of user1's changes; the control user3, who holds ``lr`` on
    Chats, does hear of Chats and only of Chats."""
    def scenario() -> None:
        owner, _ = _owner_with_secrets(server.port)
        intruder = _login(server.port, b"user2")
        _ok(intruder, b"n1", b'NOTIFY SET STATUS (selected (MessageNew MessageExpunge FlagChange)) '
                             b'(personal (MessageNew MessageExpunge FlagChange MailboxName SubscriptionChange)) '
                             b'(subtree "Other Users" (MessageNew MessageExpunge MailboxName)) '
                             b'(mailboxes ("Other Users/user1/Secret" "Other Users/user1/Chats") (MessageNew MessageExpunge))')
        control = _login(server.port, b"user3")
        _ok(control, b"n1", b'NOTIFY SET (subtree "Other Users" (MessageNew MessageExpunge MailboxName))')
        _ok(intruder, b"e", b"EXAMINE INBOX")
        intruder.send(b"i IDLE\r\n")
        assert intruder.read_line().startswith(b"+")
        # user1 changes everything it has.
        _append(owner, b"Secret")
        _append(owner, b"Chats")
        _ok(owner, b"st", b"STORE 1 +FLAGS (\\Flagged)")
        _ok(owner, b"x", b"EXPUNGE")
        _ok(owner, b"r", b"RENAME Secret Hidden")
        _ok(owner, b"sa", b"SETACL Hidden user3 l")
        assert _quiet(intruder) == b""
        intruder.send(b"DONE\r\n")
        lines = intruder.until(b"i")
        assert lines == [b"i OK Idle completed."], lines
        assert _ok(intruder, b"n", b"NOOP") == [b"n OK NOOP completed."]
        heard = _quiet(control, 1.0)
        assert b"Chats" in heard and b"Secret" not in heard, heard
        owner.close()
        intruder.close()
        control.close()

    await in_thread(scenario)
