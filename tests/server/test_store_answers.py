"""STORE's answer, EXPUNGE's choice of messages and the way a session's
responses go out, after other sessions changed the folder (RFC 3501 §6.4.3,
§6.4.6, §7.4.1; UID EXPUNGE RFC 4315 §2.1; MODSEQ RFC 7162 §3.1.3).

STORE answers from the folder's arrays in memory, a batch of messages at a
time, as the sync FETCH does; a FETCH that also asks for INTERNALDATE is
answered message by message. These tests check that both say the same FLAGS
and MODSEQ for every message, on a folder larger than one STORE batch and
with changes made behind the session's back: a message expunged that the
session has not heard of yet, messages added that are \\Recent for it alone.
A session's responses are held while its command runs and sent together:
pipelined commands, IDLE and literals must still get every line, in order."""

import re
import socket

import pytest_twisted
from conftest import in_thread
from test_fetch_flags import by_seq, fill
from transcript import logged_in

COUNT = 1200  # more than one STORE batch of 1,000 messages
EXPUNGED = 700  # a UID another session expunges

_FLAGS = re.compile(rb"FLAGS \(([^)]*)\)")
_MODSEQ = re.compile(rb"MODSEQ \((\d+)\)")
_UID = re.compile(rb"UID (\d+)")


def _flags_and_modseq(items: bytes) -> tuple[frozenset[bytes], int]:
    return frozenset(_FLAGS.search(items).group(1).split()), int(_MODSEQ.search(items).group(1))


def _ok(conn, tag: bytes, line: bytes) -> list[bytes]:
    lines = conn.command(tag, line)
    assert lines[-1].startswith(tag + b" OK"), lines[-1]
    return lines


def _folder(port: int, name: bytes, count: int, select: bytes | None = b"SELECT"):
    """A new session with folder ``name`` of ``count`` messages (``fill``), then selected."""
    conn = logged_in(port)
    _ok(conn, b"f1", b"CREATE " + name)
    fill(conn, name, count)
    if select:
        _ok(conn, b"f2", select + b" " + name)
    return conn


def _uids_in_order(conn, tag: bytes) -> list[int]:
    fetched = by_seq(conn.command(tag, b"FETCH 1:* (UID)"))
    return [int(_UID.search(items).group(1)) for _seq, items in sorted(fetched.items())]


@pytest_twisted.ensureDeferred
async def test_rfc3501_6_4_6_store_answer_is_what_fetch_says_of_each_message(server):
    def scenario():
        other = _folder(server.port, b"many", COUNT)  # its SELECT takes their \Recent
        reader = logged_in(server.port)
        _ok(reader, b"r1", b"SELECT many (CONDSTORE)")
        adder = logged_in(server.port)  # neither selecting session added them
        fill(adder, b"many", 3)  # UIDs COUNT+1..COUNT+3
        adder.close()
        _ok(reader, b"r2", b"NOOP")  # the first to hear of them: \Recent here
        _ok(other, b"c3", b"UID STORE %d +FLAGS.SILENT (\\Deleted)" % EXPUNGED)
        _ok(other, b"c4", b"UID EXPUNGE %d" % EXPUNGED)

        # No EXPUNGE may be sent during STORE (RFC 3501 §7.4.1): the reader
        # still numbers the expunged message, and it is simply not answered.
        stored = by_seq(reader.command(b"r3", b"STORE 1:* +FLAGS ($Done)"))
        fetched = by_seq(reader.command(b"r4", b"UID FETCH 1:* (FLAGS MODSEQ INTERNALDATE)"))
        assert len(fetched) == COUNT + 3 - 1
        assert sorted(stored) == sorted(fetched)
        for seq, items in fetched.items():
            flags, modseq = _flags_and_modseq(items)
            assert _flags_and_modseq(stored[seq]) == (flags, modseq), seq
            assert b"$Done" in flags
        assert int(_UID.search(fetched[COUNT + 3]).group(1)) == COUNT + 3
        assert b"\\Recent" in _flags_and_modseq(fetched[COUNT + 3])[0]
        assert b"\\Recent" not in _flags_and_modseq(fetched[1])[0]
        assert b"\\Seen" in _flags_and_modseq(fetched[1])[0]  # fill: every third message \Seen
        for conn in (reader, other):
            conn.close()

    await in_thread(scenario)


@pytest_twisted.ensureDeferred
async def test_rfc7162_3_1_3_silent_store_tells_the_modseq_of_what_changed(server):
    def scenario():
        conn = _folder(server.port, b"silent", 30)  # messages 1, 4, 7, ... are \Seen already
        _ok(conn, b"a2", b"ENABLE CONDSTORE")
        lines = conn.command(b"a3", b"UID STORE 1:* +FLAGS.SILENT (\\Seen)")
        answered = {int(_UID.search(items).group(1)): items for items in by_seq(lines).values()}
        assert sorted(answered) == [uid for uid in range(1, 31) if (uid - 1) % 3]
        assert all(b"FLAGS" not in items for items in answered.values())
        fetched = by_seq(conn.command(b"a4", b"UID FETCH 1:* (MODSEQ INTERNALDATE)"))
        for items in fetched.values():
            uid = int(_UID.search(items).group(1))
            if uid in answered:
                assert _MODSEQ.search(answered[uid]).group(1) == _MODSEQ.search(items).group(1)
        conn.close()

    await in_thread(scenario)


@pytest_twisted.ensureDeferred
async def test_rfc4315_2_1_uid_expunge_removes_only_deleted_messages_of_its_set(server):
    def scenario():
        conn = _folder(server.port, b"purge", 12)
        _ok(conn, b"a4", b"UID STORE 2,4,6,8,10,12 +FLAGS.SILENT (\\Deleted)")
        lines = _ok(conn, b"a5", b"UID EXPUNGE 1:7")
        # Highest first, each renumbering what follows (RFC 3501 §7.4.1): 6, 4, 2.
        assert [line for line in lines if line.endswith(b"EXPUNGE")] == [b"* 6 EXPUNGE", b"* 4 EXPUNGE", b"* 2 EXPUNGE"]
        assert _uids_in_order(conn, b"a6") == [1, 3, 5, 7, 8, 9, 10, 11, 12]
        conn.close()

    await in_thread(scenario)


@pytest_twisted.ensureDeferred
async def test_rfc3501_7_4_1_scattered_expunges_renumber_the_view(server):
    def scenario():
        writer = _folder(server.port, b"scatter", 40, select=None)
        reader = logged_in(server.port)
        _ok(reader, b"r1", b"SELECT scatter")
        _ok(writer, b"w2", b"SELECT scatter")
        gone = [1, 2, 9, 10, 11, 25, 39, 40]
        _ok(writer, b"w3", b"UID STORE %s +FLAGS.SILENT (\\Deleted)" % b",".join(b"%d" % uid for uid in gone))
        _ok(writer, b"w4", b"EXPUNGE")
        lines = _ok(reader, b"r2", b"NOOP")
        # Each number is the message's position when that EXPUNGE is read.
        assert [line for line in lines if line.endswith(b"EXPUNGE")] == [
            b"* %d EXPUNGE" % seq for seq in (40, 39, 25, 11, 10, 9, 2, 1)]
        assert _uids_in_order(reader, b"r3") == [uid for uid in range(1, 41) if uid not in gone]
        for conn in (reader, writer):
            conn.close()

    await in_thread(scenario)


@pytest_twisted.ensureDeferred
async def test_rfc3501_5_5_pipelined_commands_answered_in_order_and_in_full(server):
    """One send with commands that finish at once and commands that wait for
    the disk: every response, in the order the commands came (RFC 3501 §5.5)."""
    def scenario():
        conn = _folder(server.port, b"piped", 5, select=None)
        body = b"Subject: late\r\n\r\npiped body\r\n"
        conn.send(b"p1 SELECT piped\r\n"
                  b"p2 UID STORE 2 +FLAGS (\\Flagged)\r\n"
                  b"p3 UID FETCH 2,4 (BODY.PEEK[])\r\n"
                  b"p4 APPEND piped {%d+}\r\n%s\r\n" % (len(body), body)
                  + b"p5 NOOP\r\n"
                  b'p6 STATUS piped (MESSAGES)\r\n'
                  b"p7 UID FETCH 6 (BODY.PEEK[])\r\n")
        answers = {}
        for tag in (b"p1", b"p2", b"p3", b"p4", b"p5", b"p6", b"p7"):
            answers[tag] = conn.until(tag)
            assert answers[tag][-1].startswith(tag + b" OK"), answers[tag]
        assert b"* 5 EXISTS" in answers[b"p1"]
        assert answers[b"p2"][:-1] == [b"* 2 FETCH (UID 2 FLAGS (\\Flagged \\Recent))"]
        bodies = [line for line in answers[b"p3"] if line.startswith(b"* ")]
        assert [line.split(b" ")[1] for line in bodies] == [b"2", b"4"]
        assert bodies[0].endswith(b"\r\nSubject: m1\r\n\r\nbody 1\r\n)")
        assert b"[APPENDUID " in answers[b"p4"][-1]
        assert b"* 6 EXISTS" in answers[b"p4"] + answers[b"p5"]
        assert answers[b"p6"][0] == b"* STATUS piped (MESSAGES 6)"
        assert answers[b"p7"][0].endswith(b"\r\n" + body + b")")
        conn.close()

    await in_thread(scenario)


@pytest_twisted.ensureDeferred
async def test_rfc2177_idle_hears_changes_while_idling(server):
    """IDLE's continuation and the updates pushed during it go out at once,
    though the IDLE command is still running (RFC 2177 §3)."""
    def scenario():
        idler = _folder(server.port, b"idled", 0)
        idler.send(b"a3 IDLE\r\n")
        assert idler.read_line().startswith(b"+ ")
        writer = logged_in(server.port)
        fill(writer, b"idled", 2)
        assert idler.read_line() == b"* 2 EXISTS"
        assert idler.read_line() == b"* 2 RECENT"
        idler.send(b"DONE\r\n")
        assert idler.until(b"a3")[-1].startswith(b"a3 OK")
        for conn in (idler, writer):
            conn.close()

    await in_thread(scenario)


@pytest_twisted.ensureDeferred
async def test_accepted_connections_send_without_delay(server):
    """Each command's answer is one send; TCP_NODELAY keeps Nagle's algorithm
    from holding it behind the client's delayed ACK of the previous one."""
    def scenario():
        conn = logged_in(server.port)
        local = conn.sock.getsockname()
        return local, conn

    local, conn = await in_thread(scenario)
    try:
        accepted = [p.transport for p in server.running.context.protocols
                    if p.transport.getPeer().port == local[1]]
        assert len(accepted) == 1
        handle = accepted[0].getHandle()
        assert handle.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
    finally:
        conn.close()
