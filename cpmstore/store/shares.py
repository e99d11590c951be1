"""Who shares folders with whom (RFC 4314 with an other-users namespace, RFC 2342).

Owns ``<data>/shares.sqlite3``: for every owner, the identifiers (user names,
``anyone``, ``authenticated``) that some ACL entry of that owner grants the
``l`` right. LIST uses it to find the other users whose folders a user may
see without opening every user's index. It is derived data: each owner's
index stays the truth for the ACLs themselves, so the file is rebuilt from
the indexes when it is missing. Blocking: worker threads only, except
``owners_for`` which reads the in-memory copy.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from urllib.parse import unquote

from twisted.logger import Logger

from .changes import ChangeBus
from .rebuild import INDEX_FILE

log = Logger()
FILE = "shares.sqlite3"


def lookup_identifiers(owner: str, entries: list[tuple[str, str]]) -> set[str]:
    """Of (identifier, stored rights) pairs, the identifiers other than the
    owner that are granted ``l`` (negative entries never show a folder)."""
    return {identifier for identifier, rights in entries
            if "l" in rights and identifier != owner and not identifier.startswith("-")}


class Shares:
    def __init__(self, data_dir: str) -> None:
        path = os.path.join(data_dir, FILE)
        fresh = not os.path.exists(path)
        os.makedirs(data_dir, exist_ok=True)
        self._lock = threading.Lock()
        # Told of every owner whose ACLs changed, on the reactor thread, so
        # that NOTIFY can start listening to an owner who shares after it began.
        self.bus = ChangeBus()
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS shares (owner TEXT NOT NULL, identifier TEXT NOT NULL, "
                         "PRIMARY KEY (owner, identifier))")
        self._by_owner: dict[str, frozenset[str]] = {}
        for owner, identifier in self._db.execute("SELECT owner, identifier FROM shares"):
            self._by_owner[owner] = self._by_owner.get(owner, frozenset()) | {identifier}
        if fresh:
            self._rebuild(os.path.join(data_dir, "users"))

    def set(self, owner: str, identifiers: set[str]) -> None:
        """Record the identifiers that ``owner``'s ACLs now grant ``l``."""
        identifiers = frozenset(identifiers)
        with self._lock:
            if self._by_owner.get(owner, frozenset()) == identifiers:
                return
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.execute("DELETE FROM shares WHERE owner = ?", (owner,))
                self._db.executemany("INSERT INTO shares (owner, identifier) VALUES (?, ?)",
                                     [(owner, identifier) for identifier in sorted(identifiers)])
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            if identifiers:
                self._by_owner[owner] = identifiers
            else:
                self._by_owner.pop(owner, None)

    def owners_for(self, user: str) -> list[str]:
        """Other users with a folder ``user`` may be able to see."""
        wanted = {user, "anyone", "authenticated"}
        return sorted(owner for owner, identifiers in list(self._by_owner.items())
                      if owner != user and identifiers & wanted)

    def close(self) -> None:
        self._db.close()

    def _rebuild(self, users_dir: str) -> None:
        if not os.path.isdir(users_dir):
            return
        for entry in sorted(os.listdir(users_dir)):
            path = os.path.join(users_dir, entry, INDEX_FILE)
            if not os.path.exists(path):
                continue
            try:
                db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
                try:
                    rows = db.execute("SELECT identifier, rights FROM acl").fetchall()
                finally:
                    db.close()
            except sqlite3.Error:
                log.warn("shares: could not read the ACLs of {path}", path=path)
                continue
            owner = unquote(entry)
            self.set(owner, lookup_identifiers(owner, rows))
