"""The users file: Dovecot's passwd-file format and its password schemes.

This module owns reading and atomically rewriting the users file and hashing
and verifying passwords. It never talks to the network or the reactor; it is
called from a worker thread by the checker and directly by cpmstore-admin.

Format (Dovecot ``passwd-file``): one user a line,
``name:{SCHEME}data[:uid:gid:gecos:home:shell:extra_fields]``; lines starting
with ``#`` and blank lines are ignored. The fields after the password are kept
as they are and written back unchanged.

Schemes (as Dovecot spells and computes them, so a file moves between the two
servers unchanged):

- ``{PLAIN}`` / ``{CLEARTEXT}``: the password itself. For tests and migration.
- ``{SSHA256}`` / ``{SSHA512}``: base64(digest(password + salt) + salt).
- ``{PBKDF2}``: ``$1$<salt>$<rounds>$<hex>``, PBKDF2-HMAC-SHA1 of the password
  with the salt string, 20 bytes. The default for new passwords
  (``DEFAULT_SCHEME``), with ``DEFAULT_PBKDF2_ROUNDS`` rounds rather than
  Dovecot's 5000, since the rounds travel inside the hash.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import secrets
import string
import tempfile
from dataclasses import dataclass
from typing import Iterator

__all__ = [
    "DEFAULT_PBKDF2_ROUNDS",
    "DEFAULT_SCHEME",
    "SCHEMES",
    "PasswdEntry",
    "PasswdFile",
    "check_user_name",
    "hash_password",
    "parse_passwd",
    "split_scheme",
    "verify_password",
]

DEFAULT_SCHEME = "PBKDF2"
DEFAULT_PBKDF2_ROUNDS = 100_000

_SALT_ALPHABET = string.ascii_letters + string.digits + "./"
_PBKDF2_SALT_CHARS = 16
_SSHA_SALT_BYTES = 16
_SSHA_DIGESTS = {"SSHA256": "sha256", "SSHA512": "sha512"}


def _as_bytes(password: str | bytes) -> bytes:
    return password.encode("utf-8") if isinstance(password, str) else password


def _plain_check(password: bytes, data: str) -> bool:
    return hmac.compare_digest(password, data.encode("utf-8"))


def _ssha_make(digest: str, password: bytes) -> str:
    salt = secrets.token_bytes(_SSHA_SALT_BYTES)
    return base64.b64encode(hashlib.new(digest, password + salt).digest() + salt).decode("ascii")


def _ssha_check(digest: str, password: bytes, data: str) -> bool:
    try:
        raw = base64.b64decode(data, validate=True)
    except binascii.Error:
        return False
    size = hashlib.new(digest).digest_size
    if len(raw) <= size:
        return False
    expected, salt = raw[:size], raw[size:]
    return hmac.compare_digest(hashlib.new(digest, password + salt).digest(), expected)


def _pbkdf2(password: bytes, salt: str, rounds: int) -> bytes:
    return hashlib.pbkdf2_hmac("sha1", password, salt.encode("utf-8"), rounds, 20)


def _pbkdf2_make(password: bytes, rounds: int) -> str:
    salt = "".join(secrets.choice(_SALT_ALPHABET) for _ in range(_PBKDF2_SALT_CHARS))
    return f"$1${salt}${rounds}${_pbkdf2(password, salt, rounds).hex()}"


def _pbkdf2_check(password: bytes, data: str) -> bool:
    parts = data.split("$")
    # "$1$salt$rounds$hex" splits into ["", "1", salt, rounds, hex].
    if len(parts) != 5 or parts[0] or parts[1] != "1" or not parts[3].isdigit():
        return False
    rounds = int(parts[3])
    try:
        expected = bytes.fromhex(parts[4])
    except ValueError:
        return False
    if not 0 < rounds <= 10_000_000 or len(expected) != 20:
        return False
    return hmac.compare_digest(_pbkdf2(password, parts[2], rounds), expected)


SCHEMES = ("PBKDF2", "SSHA512", "SSHA256", "PLAIN", "CLEARTEXT")


def split_scheme(stored: str) -> tuple[str, str]:
    """``"{SCHEME}data"`` -> ``("SCHEME", "data")``; no braces -> ``("", stored)``."""
    if stored.startswith("{") and "}" in stored:
        scheme, _, data = stored[1:].partition("}")
        return scheme.upper(), data
    return "", stored


def hash_password(password: str | bytes, scheme: str = DEFAULT_SCHEME, *,
                  rounds: int = DEFAULT_PBKDF2_ROUNDS) -> str:
    """The stored form ``{SCHEME}data`` of ``password``, with a fresh salt.

    ValueError for an unknown scheme, or for a password the file cannot
    hold (``{PLAIN}`` with ``:`` or a line break in it).
    """
    scheme = scheme.upper()
    raw = _as_bytes(password)
    if scheme in ("PLAIN", "CLEARTEXT"):
        text = raw.decode("utf-8")
        if any(c in text for c in ":\r\n"):
            raise ValueError("a {PLAIN} password cannot contain ':' or a line break")
        data = text
    elif scheme in _SSHA_DIGESTS:
        data = _ssha_make(_SSHA_DIGESTS[scheme], raw)
    elif scheme == "PBKDF2":
        data = _pbkdf2_make(raw, rounds)
    else:
        raise ValueError(f"unknown password scheme {scheme!r} (known: {', '.join(SCHEMES)})")
    return "{%s}%s" % (scheme, data)


def verify_password(password: str | bytes, stored: str) -> bool:
    """Whether ``password`` matches ``stored`` (``{SCHEME}data``).

    Unknown schemes and malformed data never match; comparisons are
    constant-time.
    """
    scheme, data = split_scheme(stored)
    raw = _as_bytes(password)
    if not data:
        return False
    if scheme in ("PLAIN", "CLEARTEXT"):
        return _plain_check(raw, data)
    if scheme in _SSHA_DIGESTS:
        return _ssha_check(_SSHA_DIGESTS[scheme], raw, data)
    if scheme == "PBKDF2":
        return _pbkdf2_check(raw, data)
    return False


@dataclass(frozen=True, slots=True)
class PasswdEntry:
    name: str
    password: str
    # uid, gid, gecos, home, shell, extra_fields: kept, never interpreted.
    extra: tuple[str, ...] = ()

    def line(self) -> str:
        return ":".join((self.name, self.password) + self.extra)


def check_user_name(name: str) -> None:
    """ValueError when ``name`` cannot be a passwd-file user name."""
    if not name or name.startswith("#") or any(c in name for c in ":\r\n\0") or name != name.strip():
        raise ValueError(f"invalid user name {name!r}: must be non-empty, without ':', "
                         "line breaks, NUL, a leading '#' or surrounding spaces")


def _parse_line(line: str) -> PasswdEntry | None:
    if not line.strip() or line.lstrip().startswith("#"):
        return None
    fields = line.split(":")
    # A line with a name and no password field: a user who cannot log in.
    password = fields[1] if len(fields) > 1 else ""
    return PasswdEntry(fields[0], password, tuple(fields[2:]))


def parse_passwd(text: str) -> dict[str, PasswdEntry]:
    """Entries by user name; the first line for a name wins, as in Dovecot."""
    entries: dict[str, PasswdEntry] = {}
    for line in text.splitlines():
        entry = _parse_line(line)
        if entry is not None:
            entries.setdefault(entry.name, entry)
    return entries


class PasswdFile:
    """A users file being edited: keeps comments and order on rewrite."""

    def __init__(self, path: str | os.PathLike[str], lines: list[str] | None = None) -> None:
        self.path = os.fspath(path)
        self._lines = lines if lines is not None else []

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> "PasswdFile":
        """The file at ``path``; a missing file is an empty one."""
        try:
            with open(path, encoding="utf-8") as f:
                lines = f.read().splitlines()
        except FileNotFoundError:
            lines = []
        return cls(path, lines)

    def _index(self, name: str) -> int | None:
        for i, line in enumerate(self._lines):
            entry = _parse_line(line)
            if entry is not None and entry.name == name:
                return i
        return None

    def __iter__(self) -> Iterator[PasswdEntry]:
        return iter(parse_passwd("\n".join(self._lines)).values())

    def get(self, name: str) -> PasswdEntry | None:
        i = self._index(name)
        return None if i is None else _parse_line(self._lines[i])

    def set(self, entry: PasswdEntry) -> None:
        """Add ``entry``, or replace the line of the user with that name."""
        check_user_name(entry.name)
        i = self._index(entry.name)
        if i is None:
            self._lines.append(entry.line())
        else:
            self._lines[i] = entry.line()

    def set_password(self, name: str, password: str | bytes, scheme: str = DEFAULT_SCHEME) -> None:
        old = self.get(name)
        self.set(PasswdEntry(name, hash_password(password, scheme), old.extra if old else ()))

    def remove(self, name: str) -> bool:
        i = self._index(name)
        if i is None:
            return False
        del self._lines[i]
        return True

    def save(self) -> None:
        """Replace the file atomically: readers see the old or the new, whole."""
        directory = os.path.dirname(os.path.abspath(self.path))
        os.makedirs(directory, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".passwd.", dir=directory)
        try:
            # mkstemp creates the file 0600: hashes are secrets too.
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write("".join(line + "\n" for line in self._lines))
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            os.unlink(tmp)
            raise
        dir_fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
