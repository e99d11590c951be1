"""A cursor over one complete command: the RFC 3501 §9 token grammar.

Owns the lexical pieces every command grammar is built from: SP, atom,
astring, string (quoted and ``{n}`` / ``{n+}`` literals, RFC 3501 §4.3 and
RFC 7888), nstring, number, parenthesized lists, flags, mailbox names
(RFC 3501 §5.1) and dates. It sees bytes that the framer already cut into
one command, literals inline; it never reads a socket, waits for data or
touches the disk. Every token is matched with a compiled pattern at the
current offset and literals are sliced, so reading is linear in the size
of the command. Every failure is ``ParseError``, a tagged BAD.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Callable, TypeVar

from ..errors import BadCommand
from . import datetimes, names

__all__ = [
    "ASTRING_CHARS", "ATOM_CHARS", "MAX_MODSEQ", "MAX_NUMBER", "ParseError", "Reader", "TAG_CHARS",
    "normalize_mailbox",
]

T = TypeVar("T")

# Flag-extensions defined outside RFC 3501 that clients set: OMA CPM's
# "\\read-report-sent" (shared/cpm-formats.md §4).
FLAG_EXTENSIONS = frozenset({"\\read-report-sent"})
MAX_NUMBER = 4294967295  # number and nz-number are unsigned 32-bit (RFC 3501 §9)
MAX_MODSEQ = 9223372036854775807  # mod-sequence-value, RFC 7162 §7


class ParseError(BadCommand):
    """The command does not follow the grammar; ``tag`` is the tag if one was read."""

    def __init__(self, message: str, tag: bytes | None = None) -> None:
        super().__init__(message)
        self.tag = tag


def _char_class(chars: bytes) -> bytes:
    return b"[" + re.escape(chars) + b"]"


# ATOM-CHAR is any CHAR except atom-specials: "(" ")" "{" SP CTL "%" "*" DQUOTE "\" "]".
ATOM_CHARS = bytes(c for c in range(0x21, 0x7F) if c not in b'(){ %*"\\]')
ASTRING_CHARS = ATOM_CHARS + b"]"
TAG_CHARS = bytes(c for c in ASTRING_CHARS if c != ord("+"))
LIST_CHARS = ASTRING_CHARS + b"%*"

_ATOM = re.compile(_char_class(ATOM_CHARS) + b"+")
_ASTRING_ATOM = re.compile(_char_class(ASTRING_CHARS) + b"+")
_LIST_ATOM = re.compile(_char_class(LIST_CHARS) + b"+")
_FLAG = re.compile(rb"\\?" + _char_class(ATOM_CHARS) + b"+")
_DIGITS = re.compile(rb"\d+")
# Quoted strings: only \" and \\ are escapes. 8-bit is let through (UTF-8
# clients, RFC 6855); CR, LF and NUL never are.
_QUOTED = re.compile(rb'"([^"\\\r\n\x00]*(?:\\["\\][^"\\\r\n\x00]*)*)"')
_UNESCAPE = re.compile(rb'\\(["\\])')
_LITERAL = re.compile(rb"\{(\d+)(\+?)\}\r\n")
_NIL = b"NIL"

_SYSTEM_FLAGS = {
    f.upper(): f for f in ("\\Answered", "\\Flagged", "\\Deleted", "\\Seen", "\\Draft", "\\Recent")
}


def normalize_mailbox(name: str) -> str:
    """``INBOX`` in any case is ``INBOX``, also as the first level of a path."""
    head = name[:6].upper()
    if head == "INBOX" and len(name) == 5:
        return "INBOX"
    if head == "INBOX/":
        return "INBOX" + name[5:]
    return name


class Reader:
    """Reads tokens from ``data`` starting at ``pos``; ``tag`` goes into errors.
    ``utf8``: the client has enabled UTF8=ACCEPT, so mailbox names are UTF-8
    (RFC 6855 §3), not modified UTF-7."""

    __slots__ = ("data", "pos", "tag", "utf8")

    def __init__(self, data: bytes, pos: int = 0, tag: bytes | None = None, utf8: bool = False) -> None:
        self.data = bytes(data)
        self.pos = pos
        self.tag = tag
        self.utf8 = utf8

    # -- basics --------------------------------------------------------------
    def error(self, message: str) -> ParseError:
        return ParseError(message, self.tag)

    def at_end(self) -> bool:
        return self.pos >= len(self.data)

    def peek(self, n: int = 1) -> bytes:
        return self.data[self.pos:self.pos + n]

    def need(self) -> None:
        """Fail with "Missing argument" when nothing is left to read."""
        if self.pos >= len(self.data):
            raise self.error("Missing argument")

    def match(self, pattern: re.Pattern[bytes]) -> re.Match[bytes] | None:
        """Match ``pattern`` here and move past it, or return None and stay."""
        m = pattern.match(self.data, self.pos)
        if m is not None:
            self.pos = m.end()
        return m

    def read(self, pattern: re.Pattern[bytes], what: str) -> re.Match[bytes]:
        self.need()
        m = self.match(pattern)
        if m is None:
            raise self.error(f"Invalid {what}")
        return m

    def expect(self, token: bytes, what: str | None = None) -> None:
        """Consume exactly ``token`` (case-sensitive: use for punctuation)."""
        self.need()
        if not self.data.startswith(token, self.pos):
            raise self.error(f"Expected {what or token.decode('ascii')}")
        self.pos += len(token)

    def sp(self) -> None:
        self.expect(b" ", "space")

    def end(self) -> None:
        if self.pos != len(self.data):
            raise self.error("Unexpected extra arguments")

    # -- tokens --------------------------------------------------------------
    def atom(self) -> bytes:
        return self.read(_ATOM, "atom").group()

    def keyword(self) -> str:
        """An atom upper-cased, for command names, search keys, item names."""
        return self.atom().upper().decode("ascii")

    def number(self, nonzero: bool = False, largest: int = MAX_NUMBER) -> int:
        digits = self.read(_DIGITS, "number").group()
        # Length first: int() of a huge digit string is slow and may raise.
        if len(digits) > len(str(largest)) or int(digits) > largest:
            raise self.error("Number too large")
        value = int(digits)
        if nonzero and value == 0:
            raise self.error("Number must not be zero")
        return value

    def nz_number(self) -> int:
        return self.number(nonzero=True)

    def mod_sequence(self, nonzero: bool = False) -> int:
        """``mod-sequence-value`` / ``-valzer``: up to 2^63-1 (RFC 7162 §7)."""
        return self.number(nonzero, largest=MAX_MODSEQ)

    def quoted(self) -> bytes:
        m = self.read(_QUOTED, "quoted string")
        return _UNESCAPE.sub(rb"\1", m.group(1))

    def literal(self) -> bytes:
        m = self.read(_LITERAL, "literal")
        digits = m.group(1)
        size = int(digits) if len(digits) <= 10 else MAX_NUMBER + 1
        start = m.end()
        if size > len(self.data) - start:
            raise self.error("Literal truncated")
        self.pos = start + size
        return self.data[start:self.pos]

    def string(self) -> bytes:
        self.need()
        first = self.data[self.pos]
        if first == 0x22:  # DQUOTE
            return self.quoted()
        if first == 0x7B:  # {
            return self.literal()
        raise self.error("Expected string")

    def astring(self) -> bytes:
        self.need()
        if self.data[self.pos] in (0x22, 0x7B):
            return self.string()
        return self.read(_ASTRING_ATOM, "string").group()

    def nstring(self) -> bytes | None:
        if self.data[self.pos:self.pos + 3].upper() == _NIL and not self._atom_continues(3):
            self.pos += 3
            return None
        return self.string()

    def _atom_continues(self, offset: int) -> bool:
        nxt = self.data[self.pos + offset:self.pos + offset + 1]
        return bool(nxt) and nxt[0] in ASTRING_CHARS

    def paren_list(self, item: Callable[[Reader], T], allow_empty: bool = True) -> list[T]:
        """``"(" [item *(SP item)] ")"``."""
        self.expect(b"(")
        items: list[T] = []
        if self.peek() == b")":
            if not allow_empty:
                raise self.error("Empty list")
            self.pos += 1
            return items
        while True:
            items.append(item(self))
            if self.peek() == b")":
                self.pos += 1
                return items
            self.sp()

    # -- composite -----------------------------------------------------------
    def flag(self, allow_recent: bool = False) -> str:
        """A flag: system flags in canonical case, other ``\\`` flags lower-cased,
        keywords as sent. ``\\Recent`` only where ``allow_recent`` (never in
        STORE or APPEND, RFC 3501 §2.3.2)."""
        text = self.read(_FLAG, "flag").group().decode("ascii")
        if not text.startswith("\\"):
            return text
        canonical = _SYSTEM_FLAGS.get(text.upper())
        if canonical == "\\Recent" and not allow_recent:
            raise self.error("\\Recent may not be set by a client")
        if canonical is None and text.lower() not in FLAG_EXTENSIONS:
            # RFC 3501 §2.3.2: "\\" names are reserved for defined system flags.
            raise self.error(f"Invalid system flag {text[:40]}")
        return canonical or text.lower()

    def flag_list(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(self.paren_list(Reader.flag)))

    def mailbox_name(self, raw: bytes) -> str:
        """The one place a client's mailbox name is decoded (``imap.names``)."""
        try:
            return names.decode(raw, self.utf8)
        except names.BadName as exc:
            raise self.error(f"Invalid mailbox name: {exc}") from None

    def mailbox(self) -> str:
        """A mailbox astring, decoded (modified UTF-7, or UTF-8 after ENABLE
        UTF8=ACCEPT), INBOX normalized."""
        return normalize_mailbox(self.mailbox_name(self.astring()))

    def list_mailbox(self) -> str:
        """A LIST pattern: like a mailbox but ``%`` and ``*`` may be unquoted."""
        self.need()
        if self.data[self.pos] in (0x22, 0x7B):
            raw = self.string()
        else:
            raw = self.read(_LIST_ATOM, "mailbox pattern").group()
        return self.mailbox_name(raw)

    def date_time(self) -> datetime:
        text = self.read(_QUOTED, "date-time").group(1)
        try:
            return datetimes.parse_date_time(text)
        except ValueError:
            raise self.error("Invalid date-time") from None

    def date(self) -> date:
        """A search ``date``, quoted or not."""
        self.need()
        if self.data[self.pos] == 0x22:
            text = self.read(_QUOTED, "date").group(1)
        else:
            text = self.atom()
        try:
            return datetimes.parse_date(text)
        except ValueError:
            raise self.error("Invalid date") from None
