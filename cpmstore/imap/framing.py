"""Cutting the client's byte stream into whole commands (RFC 3501 §2.2, §4.3; RFC 7888).

Owns command boundaries: a command is a CRLF-terminated line, and a line
that ends in a literal marker ``{n}`` or ``{n+}`` is followed by ``n`` raw
bytes and another line of the same command. The framer enforces the line
and literal size limits without ever buffering more than one unfinished line
(at most ``max_line_bytes``) plus the literal being received, and reports
what happened as events. It never writes to the client (the protocol answers
``NeedContinuation`` with ``+``), never parses arguments, never touches a
socket, the reactor or the disk. Feeding the same bytes in any chunking
yields the same events.

Recovery from a limit keeps the connection usable: an over-long line is
discarded up to its CRLF; a too-big synchronizing literal drops the command
(the client waits for a ``+`` that never comes); a too-big non-synchronizing
literal (LITERAL+, sent without waiting) is skipped byte for byte and so is
the rest of its command, further non-synchronizing literals included.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "CommandBytes", "Event", "Framer", "LineTooLong", "LiteralTooBig", "NeedContinuation",
]


@dataclass(frozen=True, slots=True)
class CommandBytes:
    """One whole command without its final CRLF; literals inline as ``{n}\\r\\n`` + bytes."""

    raw: bytes


@dataclass(frozen=True, slots=True)
class NeedContinuation:
    """A synchronizing literal was accepted: send ``+ Ready for literal data``."""


@dataclass(frozen=True, slots=True)
class LineTooLong:
    """A line passed ``max_line_bytes``; its command is dropped."""

    tag: bytes | None


@dataclass(frozen=True, slots=True)
class LiteralTooBig:
    """A literal announced more than ``max_literal_bytes``; its command is dropped.

    ``command_name`` is the upper-cased second token (``b"APPEND"`` gets
    ``NO [TOOBIG]``, anything else BAD)."""

    tag: bytes | None
    size: int
    synchronizing: bool
    command_name: bytes | None
    # True when this literal is within its own limit but would take the whole
    # command (lines and literals so far) past ``max_command_bytes``.
    whole_command: bool = False


Event = CommandBytes | NeedContinuation | LineTooLong | LiteralTooBig

_LINE, _LITERAL, _DISCARD_LINE, _SKIP_LITERAL = range(4)
# A discarded line is not buffered, only its last bytes, enough to see
# whether it ends with a LITERAL+ marker whose bytes must be skipped too.
_TAIL = 32
_MAX_SIZE_DIGITS = 20
_HUGE = 10 ** _MAX_SIZE_DIGITS  # stands for a size too long to spell


def _literal_marker(line: bytes) -> tuple[int, bool] | None:
    """``(size, synchronizing)`` if ``line`` ends with ``{n}`` or ``{n+}``."""
    if not line.endswith(b"}"):
        return None
    start = line.rfind(b"{")
    if start < 0:
        return None
    inner = line[start + 1:-1]
    synchronizing = not inner.endswith(b"+")
    digits = inner if synchronizing else inner[:-1]
    if not digits or not digits.isdigit():
        return None
    significant = digits.lstrip(b"0") or b"0"
    size = int(significant) if len(significant) <= _MAX_SIZE_DIGITS else _HUGE
    return size, synchronizing


def _token(line: bytes, index: int) -> bytes | None:
    """The ``index``-th space-separated token of a command's first line, if whole."""
    tokens = line.split(b" ", index + 1)
    if len(tokens) < 2:  # a tag is only known once its SP is seen
        return None
    token = tokens[index].split(b"{", 1)[0].split(b"\r", 1)[0]
    return token or None


class Framer:
    """Feed bytes in, get events out. See the module docstring."""

    def __init__(self, max_line_bytes: int, max_literal_bytes: int, max_command_bytes: int | None = None) -> None:
        self.max_line_bytes = max_line_bytes
        self.max_literal_bytes = max_literal_bytes
        # What one command may hold in memory in all (a MULTIAPPEND of many
        # literals, each under the literal limit): without it, memory per
        # connection would be bounded only by the count of literals.
        self.max_command_bytes = max_command_bytes if max_command_bytes is not None else max_literal_bytes * 4
        self.reset()

    def reset(self) -> None:
        """Forget all buffered input (STARTTLS: nothing sent in clear may survive)."""
        self._mode = _LINE
        self._line = bytearray()  # the unfinished line
        self._parts: list[bytes] = []  # finished lines and literals of this command
        self._held = 0  # bytes in _parts
        self._left = 0  # literal bytes still to receive or skip
        self._tail = b""  # last bytes of the line being discarded

    def pending(self) -> bytes | None:
        """The bytes of the unfinished command, exactly as received, so that
        another framer can be fed them (a connection moving to another
        process); None while a command is being dropped (those bytes are gone)."""
        if self._mode not in (_LINE, _LITERAL):
            return None
        return b"".join(self._parts) + bytes(self._line)

    def feed(self, data: bytes) -> list[Event]:
        events: list[Event] = []
        pos = 0
        end = len(data)
        while pos < end:
            if self._mode == _LINE:
                pos = self._read_line(data, pos, events)
            elif self._mode == _LITERAL:
                take = min(self._left, end - pos)
                self._parts.append(data[pos:pos + take])
                self._left -= take
                pos += take
                if not self._left:
                    self._mode = _LINE
            elif self._mode == _SKIP_LITERAL:
                take = min(self._left, end - pos)
                self._left -= take
                pos += take
                if not self._left:
                    self._discard_rest()
            else:
                pos = self._discard_line(data, pos)
        return events

    # -- lines -----------------------------------------------------------------
    def _read_line(self, data: bytes, pos: int, events: list[Event]) -> int:
        line = self._line
        if line.endswith(b"\r") and data[pos] == 0x0A:
            del line[-1]
            self._line = bytearray()
            self._line_done(bytes(line), events)
            return pos + 1
        crlf = data.find(b"\r\n", pos)
        stop = len(data) if crlf < 0 else crlf
        length = len(line) + stop - pos
        if crlf < 0 and data.endswith(b"\r"):
            length -= 1  # may be the CR of the CRLF
        if length > self.max_line_bytes:
            first = self._parts[0] if self._parts else (bytes(line) + data[pos:pos + self.max_line_bytes])
            events.append(LineTooLong(_token(first[:self.max_line_bytes], 0)))
            self._tail = (bytes(line[-_TAIL:]) + data[max(pos, stop - _TAIL):stop])[-_TAIL:]
            self._line = bytearray()
            self._parts = []
            self._held = 0
            if crlf < 0:
                self._mode = _DISCARD_LINE
                return stop
            self._discarded_line_done()
            return crlf + 2
        if crlf < 0:
            line += data[pos:]
            return stop
        line += data[pos:crlf]
        self._line = bytearray()
        self._line_done(bytes(line), events)
        return crlf + 2

    def _line_done(self, line: bytes, events: list[Event]) -> None:
        marker = _literal_marker(line)
        if marker is None:
            self._parts.append(line)
            events.append(CommandBytes(b"".join(self._parts)))
            self._parts = []
            self._held = 0
            return
        size, synchronizing = marker
        whole = self._held + len(line) + 2 + size > self.max_command_bytes
        if size > self.max_literal_bytes or whole:
            first = self._parts[0] if self._parts else line
            name = _token(first, 1)
            events.append(LiteralTooBig(_token(first, 0), size, synchronizing,
                                        name.upper() if name else None, whole and size <= self.max_literal_bytes))
            self._parts = []
            self._held = 0
            if not synchronizing:
                self._skip_literal(size)
            return
        self._parts.append(line + b"\r\n")
        self._held += len(line) + 2 + size
        if synchronizing:
            events.append(NeedContinuation())
        self._left = size
        self._mode = _LITERAL if size else _LINE

    # -- dropping a command ---------------------------------------------------------
    def _discard_line(self, data: bytes, pos: int) -> int:
        if self._tail.endswith(b"\r") and data[pos] == 0x0A:
            self._tail = self._tail[:-1]
            self._discarded_line_done()
            return pos + 1
        crlf = data.find(b"\r\n", pos)
        stop = len(data) if crlf < 0 else crlf
        self._tail = (self._tail + data[max(pos, stop - _TAIL):stop])[-_TAIL:]
        if crlf < 0:
            return stop
        self._discarded_line_done()
        return crlf + 2

    def _discarded_line_done(self) -> None:
        marker = _literal_marker(self._tail)
        self._tail = b""
        if marker is not None and not marker[1]:
            self._skip_literal(marker[0])
        else:
            # Without a LITERAL+ marker the command is over: after "{n}" the
            # client waits for a "+" that will not come.
            self._mode = _LINE

    def _skip_literal(self, size: int) -> None:
        self._left = size
        if size:
            self._mode = _SKIP_LITERAL
        else:
            self._discard_rest()

    def _discard_rest(self) -> None:
        self._mode = _DISCARD_LINE
        self._tail = b""
