"""NOTIFY filters and their edges (RFC 5465 §3, §5, §6): which mailboxes each
filter covers, what selected-delayed holds back, replacing and cancelling a
NOTIFY, the initial STATUS, the bounded queue, and one user never hearing of
another's mailboxes.

Absence is shown by order, not by waiting: the uncovered change is made first
and a covered one after it, so the next pushed line must be the covered one.
"""

import socket

import pytest_twisted
from conftest import in_thread
from test_notify import read_pushed, settle
from transcript import Connection, run

EVENTS = "(MessageNew MessageExpunge)"


def login(port: int, user: str = "user1", sock: socket.socket | None = None) -> Connection:
    return run(port, f"""
        S: * OK ...
        C: a0 LOGIN {user} pass
        S: a0 OK ...
    """, Connection(port, sock=sock) if sock else None)


def unsolicited(conn: Connection, tag: bytes = b"p") -> list[bytes]:
    """What was pushed with no command running: an unknown command is refused
    before any pending update is flushed, so only pushed lines precede its BAD."""
    lines = conn.command(tag, b"FROB")
    assert lines[-1].startswith(tag + b" BAD")
    return lines[:-1]


def recent_line(line: bytes) -> bool:
    """Which session gets \\Recent for a new message is the server's choice (RFC 3501 §2.3.2)."""
    return line in (b"* 0 RECENT", b"* 1 RECENT")


def append(conn: Connection, tag: str, folder: str, text: str = "x") -> None:
    reply = conn.command(tag.encode(), f"APPEND {folder} {{{len(text)}+}}\r\n{text}".encode())
    assert reply[-1].startswith(tag.encode() + b" OK"), reply


def select(conn: Connection, tag: bytes, folder: bytes) -> list[bytes]:
    lines = conn.command(tag, b"SELECT " + folder)
    assert lines[-1].startswith(tag + b" OK"), lines
    return lines


def create(conn: Connection, *folders: str) -> None:
    for i, folder in enumerate(folders):
        assert conn.command(b"c%d" % i, f"CREATE {folder}".encode())[-1].startswith(b"c%d OK" % i)


@pytest_twisted.ensureDeferred
async def test_rfc5465_5_2_selected_delayed_holds_expunge_until_noop(server):
    def scenario():
        actor = login(server.port)
        create(actor, "delay")
        for i in range(3):
            append(actor, f"d{i}", "delay")
        select(actor, b"s", b"delay")  # takes \Recent, so the watcher's lines carry none
        watcher = login(server.port)
        select(watcher, b"s", b"delay")
        assert watcher.command(b"n1", b"NOTIFY SET (selected-delayed (MessageNew MessageExpunge FlagChange))") == [
            b"n1 OK NOTIFY completed."]
        actor.command(b"b1", b"STORE 1 +FLAGS.SILENT (\\Flagged)")
        assert read_pushed(watcher, 1) == [b"* 1 FETCH (FLAGS (\\Flagged))"]
        actor.command(b"b2", b"STORE 2 +FLAGS.SILENT (\\Deleted)")
        assert read_pushed(watcher, 1) == [b"* 2 FETCH (FLAGS (\\Deleted))"]
        actor.command(b"b3", b"EXPUNGE")
        append(actor, "b4", "delay")
        # The expunge waits; the new message does not, and is counted with the
        # expunged one still in the client's view (RFC 5465 §5.2, RFC 3501 §7.4.1).
        assert read_pushed(watcher, 1) == [b"* 4 EXISTS"] and recent_line(watcher.read_line())
        # FETCH, STORE and SEARCH (not their UID forms) do not allow an EXPUNGE either.
        assert watcher.command(b"f1", b"FETCH 3 (UID FLAGS)") == [b"* 3 FETCH (UID 3 FLAGS ())", b"f1 OK Fetch completed."]
        assert watcher.command(b"f2", b"SEARCH ALL")[-1].startswith(b"f2 OK")
        assert unsolicited(watcher) == []
        assert settle(watcher) == [b"* 2 EXPUNGE"]
        assert watcher.command(b"f3", b"FETCH 1:* (UID)")[:-1] == [
            b"* 1 FETCH (UID 1)", b"* 2 FETCH (UID 3)", b"* 3 FETCH (UID 4)"]

    await in_thread(scenario)


@pytest_twisted.ensureDeferred
async def test_rfc5465_5_1_selected_pushes_flags_exists_and_expunge_between_commands(server):
    def scenario():
        actor = login(server.port)
        create(actor, "now")
        append(actor, "d1", "now")
        append(actor, "d2", "now")
        select(actor, b"s", b"now")
        watcher = login(server.port)
        select(watcher, b"s", b"now")
        watcher.command(b"n1", b"NOTIFY SET (selected (MessageNew MessageExpunge FlagChange))")
        actor.command(b"b1", b"STORE 1 +FLAGS.SILENT (\\Deleted)")
        actor.command(b"b2", b"EXPUNGE")
        append(actor, "b3", "now")
        pushed = unsolicited(watcher)
        assert pushed[:3] == [b"* 1 FETCH (FLAGS (\\Deleted))", b"* 1 EXPUNGE", b"* 2 EXISTS"]
        assert len(pushed) == 4 and recent_line(pushed[3])

    await in_thread(scenario)


@pytest_twisted.ensureDeferred
async def test_rfc5465_6_inboxes_is_inbox_and_the_default_subtree(server):
    def scenario():
        watcher = login(server.port)
        create(watcher, "Default/tel:+331", "Defaulted", "Archive")
        watcher.command(b"n1", f"NOTIFY SET (inboxes {EVENTS})".encode())
        actor = login(server.port)
        append(actor, "b1", "Archive")
        append(actor, "b2", "Defaulted")  # a prefix of the name, not the subtree
        append(actor, "b3", "INBOX")
        assert read_pushed(watcher, 1) == [b"* STATUS INBOX (MESSAGES 1 UIDNEXT 2 UNSEEN 1)"]
        append(actor, "b4", "Default/tel:+331")
        assert read_pushed(watcher, 1) == [b"* STATUS Default/tel:+331 (MESSAGES 1 UIDNEXT 2 UNSEEN 1)"]
        append(actor, "b5", "Default")
        assert read_pushed(watcher, 1) == [b"* STATUS Default (MESSAGES 1 UIDNEXT 2 UNSEEN 1)"]
        assert settle(watcher) == []

    await in_thread(scenario)


@pytest_twisted.ensureDeferred
async def test_rfc5465_6_personal_covers_every_mailbox_of_the_user(server):
    def scenario():
        watcher = login(server.port)
        create(watcher, "Archive", "deep/er/still")
        watcher.command(b"n1", b"NOTIFY SET (personal (MessageNew MessageExpunge FlagChange MailboxName))")
        actor = login(server.port)
        append(actor, "b1", "deep/er/still")
        assert read_pushed(watcher, 1) == [b"* STATUS deep/er/still (MESSAGES 1 UIDNEXT 2 UNSEEN 1)"]
        select(actor, b"s", b"deep/er/still")
        actor.command(b"b2", b"STORE 1 +FLAGS.SILENT (\\Seen)")
        assert read_pushed(watcher, 1) == [b"* STATUS deep/er/still (MESSAGES 1 UIDNEXT 2 UNSEEN 0)"]
        actor.command(b"b3", b"CREATE Archive/2024")
        assert read_pushed(watcher, 1) == [b'* LIST () "/" Archive/2024']
        assert settle(watcher) == []

    await in_thread(scenario)


@pytest_twisted.ensureDeferred
async def test_rfc5465_6_subscribed_follows_subscribe_and_unsubscribe(server):
    def scenario():
        watcher = login(server.port)
        create(watcher, "news", "mine")
        watcher.command(b"s0", b"SUBSCRIBE mine")
        watcher.command(b"n1", f"NOTIFY SET (subscribed {EVENTS})".encode())
        actor = login(server.port)
        append(actor, "b1", "news")  # not subscribed yet
        append(actor, "b2", "mine")
        assert read_pushed(watcher, 1) == [b"* STATUS mine (MESSAGES 1 UIDNEXT 2 UNSEEN 1)"]
        actor.command(b"b3", b"SUBSCRIBE news")  # no SubscriptionChange asked: no LIST
        append(actor, "b4", "news")
        assert read_pushed(watcher, 1) == [b"* STATUS news (MESSAGES 2 UIDNEXT 3 UNSEEN 2)"]
        actor.command(b"b5", b"UNSUBSCRIBE news")
        append(actor, "b6", "news")
        append(actor, "b7", "mine")
        assert read_pushed(watcher, 1) == [b"* STATUS mine (MESSAGES 2 UIDNEXT 3 UNSEEN 2)"]
        assert settle(watcher) == []

    await in_thread(scenario)


@pytest_twisted.ensureDeferred
async def test_rfc5465_6_subtree_and_mailboxes(server):
    def scenario():
        watcher = login(server.port)
        create(watcher, "Work/a/b", "Workshop", "Home/kids")
        watcher.command(b"n1", f"NOTIFY SET (subtree Work {EVENTS}) (mailboxes Home {EVENTS})".encode())
        actor = login(server.port)
        append(actor, "b1", "Workshop")
        append(actor, "b2", "Home/kids")  # "mailboxes" names Home itself, not its children
        append(actor, "b3", "Work/a/b")
        assert read_pushed(watcher, 1) == [b"* STATUS Work/a/b (MESSAGES 1 UIDNEXT 2 UNSEEN 1)"]
        append(actor, "b4", "Work")
        assert read_pushed(watcher, 1) == [b"* STATUS Work (MESSAGES 1 UIDNEXT 2 UNSEEN 1)"]
        append(actor, "b5", "Home")
        assert read_pushed(watcher, 1) == [b"* STATUS Home (MESSAGES 1 UIDNEXT 2 UNSEEN 1)"]
        assert settle(watcher) == []

    await in_thread(scenario)


@pytest_twisted.ensureDeferred
async def test_rfc5465_3_1_notify_set_status_gives_initial_status_with_highestmodseq(server):
    def scenario():
        watcher = login(server.port)
        create(watcher, "st/one", "st/two", "elsewhere")
        append(watcher, "d1", "st/one")
        append(watcher, "d2", "st/one")
        append(watcher, "d3", "elsewhere")
        highest = int(watcher.command(b"h", b"STATUS st/one (HIGHESTMODSEQ)")[0].split()[-1].strip(b")"))
        select(watcher, b"s", b"st/two (CONDSTORE)")
        lines = watcher.command(b"n1", f"NOTIFY SET STATUS (selected {EVENTS}) (subtree st {EVENTS})".encode())
        # Every covered mailbox but the selected one, as it is now (RFC 5465 §3.1),
        # with HIGHESTMODSEQ since CONDSTORE is on (RFC 5465 §5.2, RFC 7162 §3.1.8).
        assert len(lines) == 3
        assert lines[0].startswith(b"* STATUS st (MESSAGES 0 UIDNEXT 1 UNSEEN 0 HIGHESTMODSEQ ")
        assert lines[1:] == [b"* STATUS st/one (MESSAGES 2 UIDNEXT 3 UNSEEN 2 HIGHESTMODSEQ %d)" % highest,
                             b"n1 OK NOTIFY completed."]

    await in_thread(scenario)


@pytest_twisted.ensureDeferred
async def test_rfc5465_3_a_new_notify_replaces_the_old_and_none_ends_it(server):
    def scenario():
        watcher = login(server.port)
        create(watcher, "first", "second", "sel")
        append(watcher, "d1", "sel")
        select(watcher, b"s", b"sel")
        watcher.command(b"n1", f"NOTIFY SET (selected (MessageNew MessageExpunge FlagChange)) (mailboxes first {EVENTS})".encode())
        watcher.command(b"n2", f"NOTIFY SET (mailboxes second {EVENTS})".encode())
        actor = login(server.port)
        append(actor, "b1", "first")
        append(actor, "b2", "second")
        assert read_pushed(watcher, 1) == [b"* STATUS second (MESSAGES 1 UIDNEXT 2 UNSEEN 1)"]
        # The replacing NOTIFY has no "selected": the selected mailbox goes back
        # to RFC 3501 rules, updates at the end of the client's own commands.
        select(actor, b"s", b"sel")
        actor.command(b"b3", b"STORE 1 +FLAGS.SILENT (\\Seen)")
        assert unsolicited(watcher) == []
        assert settle(watcher) == [b"* 1 FETCH (FLAGS (\\Seen \\Recent))"]
        assert watcher.command(b"n3", b"NOTIFY NONE") == [b"n3 OK NOTIFY completed."]
        append(actor, "b4", "second")
        actor.command(b"b5", b"STORE 1 -FLAGS.SILENT (\\Seen)")
        assert unsolicited(watcher) == []
        assert settle(watcher) == [b"* 1 FETCH (FLAGS (\\Recent))"]

    await in_thread(scenario)


@pytest_twisted.ensureDeferred
async def test_rfc5465_5_8_overflow_switches_notify_off(server):
    """The queue holds 1000 pending items. The watcher is kept inside a command
    by not reading a large FETCH (the server waits on back-pressure), so what
    happens meanwhile can only queue; 1000 items are all delivered before the
    tagged reply, 1001 give ``[NOTIFICATIONOVERFLOW]`` and NOTIFY is off."""

    def scenario():
        actor = login(server.port)
        create(actor, "big")
        body = b"Subject: big\r\n\r\n" + b"x" * (8 << 20)
        actor.send(b"d1 APPEND big {%d+}\r\n%s\r\n" % (len(body), body))
        assert actor.until(b"d1")[-1].startswith(b"d1 OK")
        select(actor, b"s", b"big")
        assert actor.command(b"d2", b"COPY 1 big")[-1].startswith(b"d2 OK")  # a hard link, not a second write

        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.settimeout(10)
        sock.connect(("127.0.0.1", server.port))
        watcher = login(server.port, sock=sock)
        select(watcher, b"s", b"big")
        watcher.command(b"n1", b"NOTIFY SET (personal (SubscriptionChange))")

        def backlog(tag: bytes, changes: int) -> list[bytes]:
            watcher.send(tag + b" FETCH 1:2 BODY.PEEK[]\r\n")
            first = sock.recv(32)  # the FETCH is under way: the watcher is busy until its tagged reply
            assert first.startswith(b"* 1 FETCH (BODY[] {")
            watcher.buf = first
            verbs = (b"SUBSCRIBE", b"UNSUBSCRIBE")
            actor.send(b"".join(b"b%d %s lots\r\n" % (i, verbs[i % 2]) for i in range(changes)))
            assert actor.until(b"b%d" % (changes - 1))[-1].startswith(b"b%d OK" % (changes - 1))
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)  # now read it quickly
            lines = watcher.until(tag)
            assert [len(l) for l in lines[:2]] == [len(b"* 1 FETCH (BODY[] {%d}\r\n)" % len(body)) + len(body)] * 2
            return lines[2:]

        lines = backlog(b"f1", 1000)
        assert lines[:2] == [b'* LIST (\\Subscribed) "/" lots', b'* LIST () "/" lots'] and len(lines) == 1001
        lines = backlog(b"f2", 1001)
        assert lines == [b"* OK [NOTIFICATIONOVERFLOW] Too many notifications; NOTIFY is off.", b"f2 OK Fetch completed."]
        actor.command(b"b", b"SUBSCRIBE lots")
        assert settle(watcher) == []

    await in_thread(scenario)


@pytest_twisted.ensureDeferred
async def test_rfc5465_6_never_another_users_mailboxes(server):
    def scenario():
        watcher = login(server.port, "user1")
        create(watcher, "same")
        watcher.command(b"n1", b"NOTIFY SET (personal (MessageNew MessageExpunge FlagChange MailboxName SubscriptionChange))")
        other = login(server.port, "user2")
        create(other, "same", "theirs")
        append(other, "b1", "same")
        append(other, "b2", "INBOX")
        other.command(b"b3", b"SUBSCRIBE same")
        other.command(b"b4", b"RENAME theirs gone")
        other.command(b"b5", b"DELETE gone")
        select(other, b"s", b"same")
        other.command(b"b6", b"STORE 1 +FLAGS.SILENT (\\Deleted)")
        other.command(b"b7", b"EXPUNGE")
        mine = login(server.port, "user1")
        append(mine, "m1", "same")
        assert read_pushed(watcher, 1) == [b"* STATUS same (MESSAGES 1 UIDNEXT 2 UNSEEN 1)"]
        assert settle(watcher) == []

    await in_thread(scenario)
