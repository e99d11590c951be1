"""A tiny raw-socket IMAP client for timing servers, plus the probes a benchmark needs around it.

It owns: sending a command (or a pipelined batch of commands) and reading every byte of the answer up to the
tagged reply, literal-aware (RFC 3501 §4.3 `{n}` literals inside responses), counting untagged responses,
literal bytes and bytes received. It also finds which server process holds a connection and reads that
process's peak resident set size (VmHWM) from /proc. It must never parse responses beyond that framing (the
benchmark measures servers, so the client does as little per byte as it can), never retry, and never connect
anywhere but 127.0.0.1. Linux only (/proc).
"""

from __future__ import annotations

import dataclasses
import os
import re
import socket
import time
from collections.abc import Callable, Sequence

_LITERAL_AT_END = re.compile(rb"\{(\d+)\+?\}$")
_RECV_BYTES = 1 << 18
# Compacting the buffer on every response would copy it quadratically; only drop consumed bytes past this.
_COMPACT_AFTER = 1 << 20


class ImapError(Exception):
    """The server answered NO/BAD/BYE where the benchmark needs OK, or closed the connection."""


@dataclasses.dataclass(frozen=True, slots=True)
class Reply:
    """What one command cost: its tagged line, the untagged responses and bytes that came before it."""

    tag: bytes
    status: bytes  # b"OK", b"NO", b"BAD" (b"BYE" when the server closed instead of answering)
    text: bytes  # the whole tagged line without CRLF
    untagged: int  # number of "* ..." responses read before the tagged line
    literal_bytes: int  # sum of the sizes of every literal in those responses
    literals: int  # how many literals they held
    received: int  # every byte read for this command, tagged line included
    seconds: float  # from the first byte sent to the tagged line read


class Connection:
    """One IMAP connection; responses are read in order, so pipelined tags must be read in the order sent."""

    def __init__(self, port: int, host: str = "127.0.0.1", timeout: float = 600.0) -> None:
        if host != "127.0.0.1":
            raise ValueError("benchmarks talk to 127.0.0.1 only")
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self._buf = bytearray()
        self._pos = 0
        self._dropped = 0  # consumed bytes removed from the front of the buffer, for exact byte counts
        self._tag_number = 0
        self.greeting = self._read_line()

    # -- framing ----------------------------------------------------------------------------------------
    def _fill(self) -> int:
        chunk = self.sock.recv(_RECV_BYTES)
        if not chunk:
            raise ImapError("connection closed by the server")
        if self._pos > _COMPACT_AFTER:
            del self._buf[: self._pos]
            self._dropped += self._pos
            self._pos = 0
        self._buf += chunk
        return len(chunk)

    def _read_line(self) -> bytes:
        while True:
            eol = self._buf.find(b"\r\n", self._pos)
            if eol >= 0:
                line = bytes(self._buf[self._pos : eol])
                self._pos = eol + 2
                return line
            self._fill()

    def _skip(self, count: int) -> None:
        """Consume `count` literal bytes without keeping them."""
        while count:
            available = len(self._buf) - self._pos
            if available >= count:
                self._pos += count
                return
            count -= available
            self._pos = len(self._buf)
            self._fill()

    def _read_response(
        self, on_untagged: Callable[[bytes], None] | None
    ) -> tuple[bytes, int, int]:
        """One whole response: its text with literals left out, the literal byte total, the literal count."""
        parts = []
        literal_bytes = literals = 0
        while True:
            line = self._read_line()
            match = _LITERAL_AT_END.search(line) if line.endswith(b"}") else None
            if match is None:
                parts.append(line)
                break
            size = int(match.group(1))
            parts.append(line[: match.start()])
            self._skip(size)
            literal_bytes += size
            literals += 1
        text = parts[0] if len(parts) == 1 else b"".join(parts)
        if on_untagged is not None and text.startswith(b"* "):
            on_untagged(text)
        return text, literal_bytes, literals

    # -- commands ---------------------------------------------------------------------------------------
    def next_tag(self) -> bytes:
        self._tag_number += 1
        return b"b%d" % self._tag_number

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def read_reply(
        self, tag: bytes, started: float | None = None, on_untagged: Callable[[bytes], None] | None = None
    ) -> Reply:
        """Read responses up to `tag`'s tagged line; a continuation request is an error (use LITERAL+)."""
        started = time.perf_counter() if started is None else started
        untagged = literal_bytes = literals = 0
        received_before = self._received()
        prefix = tag + b" "
        # Bounded by the server: every iteration consumes one response or raises on a closed connection.
        while True:
            text, size, count = self._read_response(on_untagged)
            literal_bytes += size
            literals += count
            if text.startswith(prefix):
                status = text[len(prefix) :].split(b" ", 1)[0].upper()
                break
            if text.startswith(b"* BYE"):
                status = b"BYE"
                break
            if text.startswith(b"+"):
                raise ImapError(f"unexpected continuation request: {text!r}")
            untagged += 1
        return Reply(
            tag=tag,
            status=status,
            text=text,
            untagged=untagged,
            literal_bytes=literal_bytes,
            literals=literals,
            received=self._received() - received_before,
            seconds=time.perf_counter() - started,
        )

    def _received(self) -> int:
        """Bytes consumed so far on this connection."""
        return self._dropped + self._pos

    def command(
        self, text: bytes, on_untagged: Callable[[bytes], None] | None = None, check: bool = True
    ) -> Reply:
        """Send one command line (without tag and CRLF) and read its whole answer."""
        tag = self.next_tag()
        started = time.perf_counter()
        self.send(tag + b" " + text + b"\r\n")
        reply = self.read_reply(tag, started, on_untagged)
        if check and reply.status != b"OK":
            raise ImapError(f"{text[:60]!r} -> {reply.text!r}")
        return reply

    def login(self, user: str, password: str) -> Reply:
        return self.command(b"LOGIN " + quoted(user) + b" " + quoted(password))

    def capabilities(self) -> set[bytes]:
        found: list[bytes] = []
        self.command(b"CAPABILITY", on_untagged=found.append)
        words: set[bytes] = set()
        for line in found:
            if line.upper().startswith(b"* CAPABILITY "):
                words.update(word.upper() for word in line.split()[2:])
        return words

    def append_pipelined(
        self,
        mailbox: str,
        messages: Sequence[bytes],
        per_command: int = 1,
        bytes_per_send: int = 1 << 18,
        window: int = 2,
    ) -> tuple[int, int]:
        """APPEND every message with non-synchronizing literals (RFC 7888), pipelined.

        `per_command` > 1 sends MULTIAPPEND commands (RFC 3502) of that many messages each. Commands go out
        in sends of about `bytes_per_send` bytes with at most `window` sends unanswered: the window bounds
        what the server must buffer, so its memory reflects storing, not our eagerness.
        Returns (messages appended, bytes appended).
        """
        prefix = b"APPEND " + quoted(mailbox)
        in_flight: list[list[bytes]] = []
        pending: list[bytes] = []
        pending_bytes = 0
        tags: list[bytes] = []
        total = 0

        def flush() -> None:
            self.send(b"".join(pending))
            in_flight.append(list(tags))
            pending.clear()
            tags.clear()
            if len(in_flight) >= window:
                self._expect_ok(in_flight.pop(0))

        for first in range(0, len(messages), per_command):
            tag = self.next_tag()
            tags.append(tag)
            pending.append(tag + b" " + prefix)
            for message in messages[first : first + per_command]:
                pending.append(b" {%d+}\r\n" % len(message))
                pending.append(message)
                pending_bytes += len(message)
                total += len(message)
            pending.append(b"\r\n")
            if pending_bytes >= bytes_per_send:
                flush()
                pending_bytes = 0
        if tags:
            flush()
        for batch_tags in in_flight:
            self._expect_ok(batch_tags)
        return len(messages), total

    def _expect_ok(self, tags: list[bytes]) -> None:
        for tag in tags:
            reply = self.read_reply(tag)
            if reply.status != b"OK":
                raise ImapError(f"APPEND {tag!r} -> {reply.text!r}")

    def logout(self) -> None:
        try:
            self.command(b"LOGOUT", check=False)
        except (ImapError, OSError):
            pass  # the server may close right after its BYE; either way the session is over
        self.sock.close()


def quoted(text: str) -> bytes:
    """An RFC 3501 quoted string (benchmark names and passwords are plain ASCII)."""
    data = text.encode("ascii")
    return b'"' + data.replace(b"\\", b"\\\\").replace(b'"', b'\\"') + b'"'


# -- server process probes ------------------------------------------------------------------------------
def _socket_inode(local_port: int, remote_port: int) -> int | None:
    """The inode of the server side of a 127.0.0.1 TCP connection, from /proc/net/tcp."""
    wanted_local = f"0100007F:{local_port:04X}"
    wanted_remote = f"0100007F:{remote_port:04X}"
    with open("/proc/net/tcp") as table:
        next(table)
        for row in table:
            fields = row.split()
            if fields[1] == wanted_local and fields[2] == wanted_remote:
                return int(fields[9])
    return None


def server_pid(connection: Connection) -> int:
    """The pid of the process holding the server end of `connection` (root may be needed to see it).

    Dovecot hands the client socket from imap-login to a per-session `imap` process, so the socket's owner
    is the process doing the work; for a single-process server it is the server itself.
    """
    client_port = connection.sock.getsockname()[1]
    server_port = connection.sock.getpeername()[1]
    inode = _socket_inode(server_port, client_port)
    if inode is None:
        raise LookupError("the server end of the connection is not in /proc/net/tcp")
    target = f"socket:[{inode}]"
    holders = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fds = os.listdir(f"/proc/{entry}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(f"/proc/{entry}/fd/{fd}") == target:
                    holders.append(int(entry))
                    break
            except OSError:
                continue
    if not holders:
        raise LookupError(f"no process holds {target}: run as root to see other users' processes")
    # A login process may still hold the fd for a moment after passing it on; the newest holder serves it.
    return max(holders)


def process_name(pid: int) -> str:
    with open(f"/proc/{pid}/comm") as comm:
        return comm.read().strip()


def peak_rss_kib(pid: int) -> int:
    """VmHWM: the process's peak resident set size since it started or since `reset_peak_rss`."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise LookupError(f"no VmHWM for pid {pid}")


def reset_peak_rss(pid: int) -> bool:
    """Reset VmHWM to the current RSS (Linux >= 4.0, `clear_refs` value 5); False if not permitted."""
    try:
        with open(f"/proc/{pid}/clear_refs", "w") as clear_refs:
            clear_refs.write("5")
        return True
    except OSError:
        return False


def table(rows: Sequence[Sequence[str]]) -> list[str]:
    """Rows of cells as aligned text lines: the first column left-aligned,
    the others right-aligned, a rule under the header row."""
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    out = []
    for index, row in enumerate(rows):
        out.append("  ".join(cell.ljust(widths[0]) if column == 0 else cell.rjust(widths[column])
                             for column, cell in enumerate(row)))
        if index == 0:
            out.append("  ".join("-" * width for width in widths))
    return out


def target_options(parser, dovecot_user: str, batch_help: str = "messages per MULTIAPPEND command while filling"):
    """The options every side-by-side benchmark takes (README), added to ``parser``."""
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--target", choices=("cpmstore", "dovecot", "both"), default="both")
    parser.add_argument("--dovecot-port", type=int, default=10143)
    parser.add_argument("--dovecot-user", default=dovecot_user)
    parser.add_argument("--dovecot-password", default="pass")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--append-batch", type=int, default=500, metavar="N", help=batch_help)
    parser.add_argument("--keep", action="store_true", help="keep the folder (and cpmstore's data directory)")
