"""Folder names and flags as the store accepts them (RFC 3501 §5.1, §2.3.2).

Owns the validation of folder names (``/`` hierarchy, ``INBOX`` spelled upper
case) and of flags given to APPEND and STORE. Pure functions: no disk, no
reactor. A name is only ever a key in the index: it never becomes a path, so
``../x`` is an ordinary name here, not a threat.
"""

from __future__ import annotations

from functools import lru_cache

from ..errors import BadCommand, InvalidMailboxName

DELIMITER = "/"
INBOX = "INBOX"
MAX_NAME_LENGTH = 1000
MAX_LEVEL_LENGTH = 255
SYSTEM_FLAGS = frozenset({"\\Seen", "\\Answered", "\\Flagged", "\\Deleted", "\\Draft"})
RECENT = "\\Recent"
# Characters that may not appear in a flag or keyword (RFC 3501 §9 atom-specials
# and list-wildcards); the leading backslash of a system flag is checked apart.
_FLAG_SPECIALS = frozenset('(){ %*"\\]')


@lru_cache(maxsize=4096)
def normalize_name(name: str) -> str:
    """The stored spelling of ``name``: ``INBOX`` (and an ``INBOX/`` prefix) in
    upper case. Raises ``InvalidMailboxName`` for a name no folder may have.
    Memoized (an error is not): a STATUS or SELECT checks its name several
    times on the way, and a device names the same few folders all day."""
    if not name:
        raise InvalidMailboxName("Empty mailbox name")
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidMailboxName("Mailbox name too long")
    if any(ord(c) < 0x20 or c == "\x7f" for c in name):
        raise InvalidMailboxName("Control characters are not allowed in mailbox names")
    if "*" in name or "%" in name:
        raise InvalidMailboxName("Mailbox name may not contain * or %")
    levels = name.split(DELIMITER)
    if any(not level for level in levels):
        raise InvalidMailboxName("Mailbox name has an empty hierarchy level")
    if any(len(level) > MAX_LEVEL_LENGTH for level in levels):
        raise InvalidMailboxName("Mailbox name level too long")
    if levels[0].upper() == INBOX:
        levels[0] = INBOX
    return DELIMITER.join(levels)


def parents_of(name: str) -> list[str]:
    """``a/b/c`` -> ``["a", "a/b"]`` (outermost first)."""
    levels = name.split(DELIMITER)
    return [DELIMITER.join(levels[:i]) for i in range(1, len(levels))]


def in_subtree(name: str, root: str) -> bool:
    return name == root or name.startswith(root + DELIMITER)


def validate_flags(flags: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """Flags as stored: ``\\Recent`` dropped (the server alone sets it), duplicates
    (case-insensitive, RFC 3501 §2.3.2) removed, anything unstorable refused."""
    kept: dict[str, str] = {}
    for flag in flags:
        body = flag[1:] if flag.startswith("\\") else flag
        if not body or any(c in _FLAG_SPECIALS or ord(c) <= 0x20 or ord(c) >= 0x7F for c in body):
            raise BadCommand(f"Invalid flag {flag!r}")
        if flag.lower() == RECENT.lower():
            continue
        kept.setdefault(flag.lower(), flag)
    return tuple(kept.values())


def apply_flags(current: frozenset[str], mode: str, flags: tuple[str, ...]) -> frozenset[str]:
    """The flags after ``STORE`` with ``mode`` "+", "-" or "" (replace).

    Flags compare case-insensitively; a flag already present keeps the
    spelling it was first stored with.
    """
    if mode == "":
        return frozenset(flags)
    present = {flag.lower(): flag for flag in current}
    if mode == "+":
        for flag in flags:
            present.setdefault(flag.lower(), flag)
    elif mode == "-":
        for flag in flags:
            present.pop(flag.lower(), None)
    else:
        raise ValueError(f"unknown STORE mode {mode!r}")
    return frozenset(present.values())


def flags_to_text(flags: frozenset[str]) -> str:
    return " ".join(sorted(flags))


def text_to_flags(text: str) -> frozenset[str]:
    return frozenset(text.split())
