"""Raw-socket session steps the reliability tests share: log in, a command
that must succeed, an APPEND with a LITERAL+ literal."""

from __future__ import annotations

from transcript import Connection


def login(port: int, user: bytes = b"user1") -> Connection:
    """A connection of ``user`` (password ``pass``), greeting read, logged in."""
    conn = Connection(port)
    assert conn.read_line().startswith(b"* OK")
    assert conn.command(b"l", b"LOGIN " + user + b" pass")[-1].startswith(b"l OK")
    return conn


def ok(conn: Connection, tag: bytes, line: bytes) -> list[bytes]:
    """Every response line of ``line``, which must end in a tagged OK."""
    lines = conn.command(tag, line)
    assert lines[-1].startswith(tag + b" OK"), lines
    return lines


def append(conn: Connection, folder: bytes, message: bytes) -> bytes:
    """APPEND ``message`` to ``folder``; the tagged reply, whatever it says."""
    conn.send(b"ap APPEND " + folder + b" {%d+}\r\n" % len(message) + message + b"\r\n")
    return conn.until(b"ap")[-1]
