"""RFC-style transcripts against a live server.

``run(port, script)`` takes lines written like the RFC examples::

    C: a1 LOGIN user1 pass
    S: a1 OK [CAPABILITY ...] Logged in

sends each ``C:`` line and matches each ``S:`` line, in order, against the
next line the server sends. ``...`` in an ``S:`` line matches any text (a
UIDVALIDITY, the human-readable part); everything else must be equal. A
literal in a server line is read whole and matched inline as ``{n}\\r\\n<bytes>``.
A ``C:`` line ending in ``{n}`` is sent and the server's ``+`` continuation is
awaited (the script does not list it) before the literal text, which is the
next ``C:`` line; ``\r\n`` written out in a ``C:`` line is sent as CRLF.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Iterable


# The greeting and a login as user1, the start of most scripts.
LOGIN = """
    S: * OK ...
    C: a0 LOGIN user1 pass
    S: a0 OK ...
"""


class Connection:
    def __init__(self, port: int, host: str = "127.0.0.1", sock: socket.socket | None = None) -> None:
        self.sock = sock or socket.create_connection((host, port), timeout=10)
        self.buf = b""

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def _fill(self) -> None:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("server closed the connection")
        self.buf += chunk

    def read_line(self) -> bytes:
        """One logical response line (literals inline), without the final CRLF."""
        out = b""
        while True:
            while b"\r\n" not in self.buf:
                self._fill()
            line, self.buf = self.buf.split(b"\r\n", 1)
            out += line
            m = re.search(rb"\{(\d+)\}$", line)
            if not m:
                return out
            n = int(m.group(1))
            while len(self.buf) < n:
                self._fill()
            out += b"\r\n" + self.buf[:n]
            self.buf = self.buf[n:]

    def command(self, tag: bytes, line: bytes) -> list[bytes]:
        """Send ``tag line`` and return every response line up to the tagged one."""
        self.send(tag + b" " + line + b"\r\n")
        return self.until(tag)

    def until(self, tag: bytes) -> list[bytes]:
        lines = []
        while True:
            line = self.read_line()
            lines.append(line)
            if line.startswith(tag + b" "):
                return lines

    def close(self) -> None:
        self.sock.close()


def _pattern(expected: bytes) -> re.Pattern:
    parts = expected.split(b"...")
    return re.compile(b".*?".join(re.escape(p) for p in parts) + rb"\Z", re.DOTALL)


def run(port: int, script: str, conn: Connection | None = None) -> Connection:
    conn = conn or Connection(port)
    for raw in script.strip().splitlines():
        raw = raw.strip()
        if not raw:
            continue
        who, _, text = raw.partition(": ")
        if raw in ("C:", "S:"):  # an empty line (an empty literal's command end)
            who, text = raw[0], ""
        data = text.encode("utf-8")
        if who == "C":
            # "\\r\\n" written in a C: line stands for a CRLF inside a literal.
            data = data.replace(b"\\r\\n", b"\r\n")
            conn.send(data + b"\r\n")
            if re.search(rb"\{\d+\}$", data):
                cont = conn.read_line()
                assert cont.startswith(b"+"), f"expected a continuation after {data!r}, got {cont!r}"
        elif who == "S":
            data = data.replace(b"\\r\\n", b"\r\n")  # literals are matched inline
            got = conn.read_line()
            assert _pattern(data).match(got), f"\nexpected: {data!r}\n     got: {got!r}"
        else:
            raise ValueError(f"bad transcript line {raw!r}")
    return conn


def logged_in(port: int, user: bytes = b"user1", sock: socket.socket | None = None) -> Connection:
    """A connection of ``user`` (password ``pass``) on ``sock`` or a new
    socket: greeting read, LOGIN answered OK."""
    conn = Connection(port, sock=sock)
    assert conn.read_line().startswith(b"* OK")
    assert conn.command(b"a0", b"LOGIN " + user + b" pass")[-1].startswith(b"a0 OK")
    return conn


def ok(conn: Connection, tag: bytes, line: bytes) -> list[bytes]:
    """Every response line of ``line``, which must end in a tagged OK."""
    lines = conn.command(tag, line)
    assert lines[-1].startswith(tag + b" OK"), lines
    return lines


def append_many(conn: Connection, folder: bytes, messages: Iterable[tuple[bytes, bytes]], batch: int = 500) -> None:
    """MULTIAPPENDs (RFC 3502) with LITERAL+ literals, ``batch`` messages a
    command, each OK; ``messages`` are (flag list such as ``b"(\\Seen)"`` or
    ``b""``, bytes)."""
    messages = list(messages)
    for start in range(0, len(messages), batch):
        parts = [b"APPEND " + folder]
        for flags, body in messages[start:start + batch]:
            parts.append(b" " + flags if flags else b"")
            parts.append(b" {%d+}\r\n" % len(body) + body)
        ok(conn, b"a1", b"".join(parts))
