"""A bulk ``UID FETCH 1:* BODY.PEEK[]`` over several parts of a folder
(RFC 3501 §6.4.5, §6.4.8, §7.4.2) while another session expunges messages.

The server reads message files a part at a time (at most 2,000 messages or
4 MiB), the next part while the one before is sent, and frames each part
only when the socket takes more. A message expunged by another session
before its part is framed is left out, its file read already or not (its
EXPUNGE cannot be sent during the FETCH, RFC 3501 §7.4.1); every other
message's stored bytes arrive exactly once, in order, with the sequence
number the session knew."""

import re
import socket

import pytest_twisted
from conftest import in_thread
from transcript import Connection, append_many, logged_in, ok

COUNT = 6000  # three parts of 2,000 messages (each under 4 MiB)
EXPUNGED = (2001, 3000, 4000, 4001, 5999, 6000)  # in the second and the last part

_HEAD = re.compile(rb"\* (\d+) FETCH \(UID (\d+) BODY\[\] \{(\d+)\}$")


def message(n: int) -> bytes:
    # About 2 KB each, all different: 12 MB in all, several times what the
    # socket buffers hold, so the last part is framed long after the first.
    return (b"Subject: bulk %d\r\nMessage-ID: <%d@bulk.test>\r\n\r\n" % (n, n)
            + b"line %06d of a message body that fills the part\r\n" % n * 40)


def small_window(port: int, receive_buffer: int) -> socket.socket:
    """A socket with a small receive window: the server meets a full socket early and waits."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
    sock.settimeout(30)
    sock.connect(("127.0.0.1", port))
    return sock


def read_fetch(conn: Connection, got: list[tuple[int, int, bytes]], expunged: list[int],
               lines: int | None = None) -> bytes | None:
    """Read ``* n FETCH (UID u BODY[] {k}...)`` responses into ``got`` as
    (n, u, body) and ``* n EXPUNGE`` into ``expunged``: ``lines`` of them,
    or up to the tagged line (returned)."""
    while lines is None or lines > 0:
        line = conn.read_line()
        if line.startswith(b"f1 "):
            return line
        if line.endswith(b" EXPUNGE"):
            # A UID command may announce expunges at its end (RFC 3501 §7.4.1).
            expunged.append(int(line.split()[1]))
            continue
        assert not expunged, line[:200]  # no FETCH after an EXPUNGE: its numbers would have moved
        head, _, rest = line.partition(b"\r\n")
        m = _HEAD.match(head)
        assert m and rest.endswith(b")"), line[:200]
        body = rest[:-1]
        assert len(body) == int(m.group(3))
        got.append((int(m.group(1)), int(m.group(2)), body))
        if lines is not None:
            lines -= 1
    return None


@pytest_twisted.ensureDeferred
async def test_rfc3501_6_4_8_bulk_body_fetch_while_another_session_expunges(server):
    def scenario():
        other = logged_in(server.port)
        ok(other, b"c1", b"CREATE bulk")
        append_many(other, b"bulk", ((b"", message(n)) for n in range(1, COUNT + 1)))
        ok(other, b"c2", b"SELECT bulk")

        reader = logged_in(server.port, sock=small_window(server.port, 16 << 10))
        ok(reader, b"r1", b"EXAMINE bulk")
        reader.send(b"f1 UID FETCH 1:* BODY.PEEK[]\r\n")
        got: list[tuple[int, int, bytes]] = []
        announced: list[int] = []
        assert read_fetch(reader, got, announced, lines=20) is None  # the FETCH is under way, its first part out

        uids = b",".join(b"%d" % uid for uid in EXPUNGED)
        ok(other, b"c3", b"UID STORE %s +FLAGS.SILENT (\\Deleted)" % uids)
        ok(other, b"c4", b"UID EXPUNGE %s" % uids)

        tagged = read_fetch(reader, got, announced)
        assert tagged.startswith(b"f1 OK"), tagged
        expected = [n for n in range(1, COUNT + 1) if n not in EXPUNGED]
        # In order, each once, numbered as the session knew them (seq = UID here).
        assert [uid for _seq, uid, _body in got] == expected
        assert [seq for seq, _uid, _body in got] == expected
        assert all(body == message(uid) for _seq, uid, body in got)

        # The session hears of the expunges once the FETCH is answered (RFC 3501 §7.4.1).
        noop = reader.command(b"r2", b"NOOP")
        assert noop[-1].startswith(b"r2 OK")
        announced += [int(line.split()[1]) for line in noop if line.endswith(b" EXPUNGE")]
        assert len(announced) == len(EXPUNGED)
    await in_thread(scenario)
