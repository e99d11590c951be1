"""The Twisted cred checker over the users file (DESIGN §6).

This module owns turning a user name and password into an avatar id (the
user name as ``str``) or ``UnauthorizedLogin``. It never blocks the reactor:
reading the file and hashing run in the reactor's thread pool, because a
PBKDF2 verification takes tens of milliseconds. It never delays a failed
login itself; the session does that (``limits.login_failure_delay``).

The file is re-read whenever its modification time, size or inode changes,
so ``cpmstore-admin user add`` takes effect without a restart.
"""

from __future__ import annotations

import functools
import os
import threading

from twisted.cred.checkers import ICredentialsChecker
from twisted.cred.credentials import IUsernamePassword
from twisted.cred.error import UnauthorizedLogin
from twisted.internet.defer import Deferred
from twisted.internet.threads import deferToThreadPool
from twisted.logger import Logger
from zope.interface import implementer

from .passwd import SCHEMES, PasswdEntry, hash_password, parse_passwd, split_scheme, verify_password

log = Logger()

# Verified when the user does not exist, so that an unknown name costs as
# much time as a wrong password and names cannot be probed by timing.
@functools.cache
def _dummy_hash() -> str:
    return hash_password("no such user")


@implementer(ICredentialsChecker)
class PasswdFileChecker:
    credentialInterfaces = (IUsernamePassword,)

    def __init__(self, path: str | os.PathLike[str], reactor=None) -> None:
        if reactor is None:
            from twisted.internet import reactor
        self.path = os.fspath(path)
        self._reactor = reactor
        self._lock = threading.Lock()
        self._stamp: tuple[int, int, int] | None = None
        self._entries: dict[str, PasswdEntry] = {}

    def requestAvatarId(self, credentials) -> Deferred:
        """Fires with the user name (``str``) or fails with UnauthorizedLogin."""
        return deferToThreadPool(self._reactor, self._reactor.getThreadPool(),
                                 self._check, credentials.username, credentials.password)

    def entries(self) -> dict[str, PasswdEntry]:
        """The current entries, re-reading the file if it changed (any thread)."""
        with self._lock:
            try:
                st = os.stat(self.path)
            except FileNotFoundError:
                self._stamp, self._entries = None, {}
                return self._entries
            stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
            if stamp != self._stamp:
                with open(self.path, encoding="utf-8", errors="replace") as f:
                    self._entries = parse_passwd(f.read())
                self._stamp = stamp
                log.info("users file {path} loaded: {count} users", path=self.path, count=len(self._entries))
            return self._entries

    def _check(self, username: bytes | str, password: bytes | str) -> str:
        try:
            name = username.decode("utf-8") if isinstance(username, bytes) else username
        except UnicodeDecodeError:
            raise UnauthorizedLogin("bad user name") from None
        entry = self.entries().get(name)
        if entry is None:
            verify_password(password, _dummy_hash())
            raise UnauthorizedLogin("no such user")
        scheme, _ = split_scheme(entry.password)
        if scheme not in SCHEMES:
            log.warn("user {user}: unsupported password scheme {scheme!r}", user=name, scheme=scheme)
        if not verify_password(password, entry.password):
            raise UnauthorizedLogin("wrong password")
        return name
