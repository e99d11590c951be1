"""Message files in Maildir directories (DESIGN §4).

Owns the files under ``<user>/mail/<mailbox id>/``: crash-safe delivery in
two phases around the index commit (``stage``: write into ``tmp/`` and fsync
file and directory, or hard-link there; the caller commits its index rows;
``publish``: rename into ``cur/``), so that a file in ``cur/``
always has a committed row, and after a crash a ``tmp/`` file is finished
(its row committed) or dropped (not). Also the ``mailbox`` file that names a
folder for rebuilding, and moving a
deleted folder's directory out of the way before removing it. Message files are
immutable once delivered and named ``<uid>.<unique>,S=<size>``. It never opens
the index and never sees a folder's name as a path: directories are mailbox ids.
Blocking: call from a worker thread, never from the reactor.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import shutil
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TypeVar

MAILBOX_FILE = "mailbox"
T = TypeVar("T")
DELETING_PREFIX = ".deleting-"
_CANONICAL = re.compile(r"^(\d+)\.([0-9a-f]+),S=(\d+)$")
_UID_PREFIX = re.compile(r"^(\d+)\.")
_SIZE = re.compile(r",S=(\d+)")
# Maildir info letters (cr.yp.to/proto/maildir.html) for rebuilding flags.
_MAILDIR_FLAGS = {"S": "\\Seen", "R": "\\Answered", "F": "\\Flagged", "T": "\\Deleted", "D": "\\Draft"}
_counter = itertools.count()


@dataclass(frozen=True, slots=True)
class ParsedName:
    uid: int | None
    size: int | None
    flags: frozenset[str]
    canonical: bool


@dataclass(frozen=True, slots=True)
class MailboxFile:
    name: str
    uid_validity: int
    special_use: str | None = None
    # A floor for UIDNEXT, kept when the highest UIDs are expunged, so that a
    # rebuild from the files never hands out an expunged UID again under the
    # same UIDVALIDITY (RFC 3501 §2.3.1.1). 0: nothing recorded.
    uid_next: int = 0

    def describes(self, name: str, uid_validity: int, special_use: str | None, uid_next: int) -> bool:
        """Whether this file agrees with the index's view of the folder."""
        return ((self.name, self.uid_validity, self.special_use) == (name, uid_validity, special_use)
                and self.uid_next <= uid_next)


def mail_root(user_dir: str) -> str:
    return os.path.join(user_dir, "mail")


def mailbox_dir(user_dir: str, mailbox_id: int) -> str:
    return os.path.join(user_dir, "mail", str(int(mailbox_id)))


def new_unique() -> int:
    # Unique within a directory already through the UID; the clock and a
    # counter keep hard-linked copies and re-deliveries distinguishable.
    return (time.time_ns() // 1000) * 16 + next(_counter) % 16  # fits array("Q")


def canonical_name(uid: int, unique: int, size: int) -> str:
    return f"{uid}.{unique:x},S={size}"


def unique_of(filename: str) -> int:
    """The unique part of a canonical file name (ValueError otherwise)."""
    match = _CANONICAL.match(filename)
    if match is None:
        raise ValueError(f"not a canonical message file name: {filename!r}")
    return int(match.group(2), 16)


def parse_name(filename: str) -> ParsedName:
    base, _, info = filename.partition(":")
    flags = frozenset()
    if info.startswith("2,"):
        flags = frozenset(_MAILDIR_FLAGS[c] for c in info[2:] if c in _MAILDIR_FLAGS)
    uid_match = _UID_PREFIX.match(base)
    size_match = _SIZE.search(base)
    return ParsedName(
        uid=int(uid_match.group(1)) if uid_match else None,
        size=int(size_match.group(1)) if size_match else None,
        flags=flags,
        canonical=_CANONICAL.match(filename) is not None,
    )


def fsync_dir(path: str) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def make_mailbox_dir(user_dir: str, mailbox_id: int, info: MailboxFile) -> str:
    path = mailbox_dir(user_dir, mailbox_id)
    for sub in ("tmp", "new", "cur"):
        os.makedirs(os.path.join(path, sub), exist_ok=True)
    write_mailbox_file(path, info)
    fsync_dir(mail_root(user_dir))
    return path


def write_mailbox_file(path: str, info: MailboxFile) -> None:
    """Atomically replace ``<dir>/mailbox`` (write, fsync, rename, fsync dir)."""
    data = json.dumps(
        {"name": info.name, "uid_validity": info.uid_validity, "special_use": info.special_use,
         "uid_next": info.uid_next},
        ensure_ascii=False,
    ).encode("utf-8")
    tmp = os.path.join(path, MAILBOX_FILE + ".tmp")
    # Writes of one folder's file are serialized by the account's write
    # lock, so a tmp file already there is what a crash left behind.
    _unlink_quietly(tmp)
    _write_synced(tmp, data)
    os.rename(tmp, os.path.join(path, MAILBOX_FILE))
    fsync_dir(path)


def read_mailbox_file(path: str) -> MailboxFile | None:
    try:
        with open(os.path.join(path, MAILBOX_FILE), "rb") as f:
            raw = json.loads(f.read().decode("utf-8"))
        return MailboxFile(str(raw["name"]), int(raw["uid_validity"]), raw.get("special_use"),
                           int(raw.get("uid_next") or 0))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def deliver(path: str, uid: int, data: bytes) -> tuple[int, str]:
    """Stage ``data`` as message ``uid`` of the folder at ``path``: written to
    ``tmp/`` and fsynced; returns (unique, file name). The caller fsyncs
    ``tmp/`` once for a batch (``fsync_dir``), commits, then ``publish``es."""
    unique = new_unique()
    filename = canonical_name(uid, unique, len(data))
    tmp = os.path.join(path, "tmp", filename)
    try:
        _write_synced(tmp, data)
    except BaseException:
        _unlink_quietly(tmp)
        raise
    return unique, filename


def publish(staged: list[str]) -> None:
    """Move staged files (``.../tmp/<name>`` paths) into their folder's
    ``cur/``, once their rows are committed. No fsync: the staged file and
    its ``tmp/`` entry are durable and its row committed, so if a crash
    loses the rename the file is found in ``tmp/`` with its row and finished
    at the next start (``rebuild.recover``), and if its row was deleted
    meanwhile (an expunge), dropped. One fsync fewer per APPEND."""
    for tmp in staged:
        folder = os.path.dirname(os.path.dirname(tmp))
        os.rename(tmp, os.path.join(folder, "cur", os.path.basename(tmp)))


def link(source: str, path: str, uid: int, size: int) -> tuple[int, str]:
    """Stage the message file ``source`` as message ``uid`` of the folder at
    ``path``: hard-linked into its ``tmp/`` (a synced byte copy where linking
    is impossible), to be ``publish``ed after the commit, like ``deliver``."""
    unique = new_unique()
    filename = canonical_name(uid, unique, size)
    tmp = os.path.join(path, "tmp", filename)
    try:
        os.link(source, tmp)
    except OSError:
        try:
            shutil.copyfile(source, tmp)
            with open(tmp, "rb+") as f:
                os.fsync(f.fileno())
        except BaseException:
            _unlink_quietly(tmp)
            raise
    return unique, filename


def rename_into_cur(path: str, old: str, uid: int, size: int) -> tuple[int, str]:
    """Give an adopted file (in ``cur/`` or ``new/``) its canonical name in ``cur/``."""
    unique = new_unique()
    filename = canonical_name(uid, unique, size)
    os.rename(os.path.join(path, old), os.path.join(path, "cur", filename))
    return unique, filename


def read_present(paths: Iterable[tuple[T, str]]) -> Iterator[tuple[T, bytes]]:
    """(key, bytes) of each (key, path) whose file is still there: a message
    expunged by another session meanwhile is skipped. Worker threads only."""
    for key, path in paths:
        try:
            with open(path, "rb") as f:
                data = f.read()
        except FileNotFoundError:
            continue
        yield key, data


def remove_files(paths: list[str]) -> None:
    for path in paths:
        _unlink_quietly(path)


def move_away(user_dir: str, mailbox_id: int) -> str | None:
    """Rename a folder's directory to ``.deleting-<id>`` so no crash leaves a
    half-removed folder that a rebuild would bring back. Returns the new path."""
    path = mailbox_dir(user_dir, mailbox_id)
    away = os.path.join(mail_root(user_dir), f"{DELETING_PREFIX}{int(mailbox_id)}")
    if not os.path.isdir(path):
        return None
    os.rename(path, away)
    fsync_dir(mail_root(user_dir))
    return away


def remove_tree(path: str) -> None:
    shutil.rmtree(path, ignore_errors=True)


def _write_synced(path: str, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    finally:
        os.close(fd)


def _unlink_quietly(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
