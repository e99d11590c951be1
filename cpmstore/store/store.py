"""The Maildir + sqlite store of every user under one data directory (DESIGN §4).

Owns the mapping from a user name to ``<data>/users/<name, percent-encoded>/``,
the one ``Account`` object per user in this process (opened, recovered and
given an INBOX on first use) and the thread pool all blocking work runs in.
It never runs blocking work on the reactor thread.
"""

from __future__ import annotations

import os
import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote, unquote

from twisted.internet.defer import Deferred
from twisted.python.failure import Failure
from zope.interface import implementer

from .account import Account
from .interfaces import IStore
from .rebuild import INDEX_FILE, open_index
from .shares import Shares
from .workers import STORE_THREADS, Workers


def user_dir_name(username: str) -> str:
    """A file name that is the user name and nothing else: ``/``, ``%`` and
    ``.`` percent-encoded so ``..`` or ``a/b`` cannot leave ``users/``."""
    if not username:
        raise ValueError("empty user name")
    return quote(username, safe="").replace(".", "%2E")


@implementer(IStore)
class MaildirStore:
    def __init__(self, data_dir: str, reactor: Any = None, max_threads: int = STORE_THREADS,
                 fsync: str = "always") -> None:
        if reactor is None:
            from twisted.internet import reactor
        self.data_dir = data_dir
        # [server] fsync: "optimized" commits flag changes, expunges and the
        # like without a sync (Index.relax); messages are always synced.
        self.relaxed = fsync == "optimized"
        self.workers = Workers(reactor, max_threads)
        self._accounts: dict[str, Account] = {}
        self._used: dict[str, float] = {}  # user -> time.monotonic() of the last lookup
        self._closed_cleanly: set[str] = set()  # unloaded here: no crash to recover from
        self._opening: dict[tuple, list[Deferred]] = {}  # what is being opened, and who waits for it
        self._shares: Shares | None = None

    def user_dir(self, username: str) -> str:
        return os.path.join(self.data_dir, "users", user_dir_name(username))

    async def account(self, username: str) -> Account:
        account = self._accounts.get(username)
        if account is not None:
            self._used[username] = time.monotonic()
            return account
        return await self._once(("user", username), self._open_account, username)

    async def _open_account(self, username: str) -> Account:
        if self._shares is None:
            self._shares = await self._once(("shares",), self.workers.run, Shares, self.data_dir)
        user_dir = self.user_dir(username)
        clean = username in self._closed_cleanly
        self._closed_cleanly.discard(username)
        index = await self.workers.run(open_index, user_dir, not clean, self.relaxed)
        account = Account(username, user_dir, index, self.workers, self._shares)
        self._accounts[username] = account
        self._used[username] = time.monotonic()
        return account

    async def _once(self, key: tuple, opener: Callable[..., Awaitable[Any]], *args: Any) -> Any:
        """``await opener(*args)`` once for ``key`` while any number of callers
        wait for it: a login storm after a restart opens each user's store
        once, different users' stores at the same time, and the waiters are
        woken one after the other (a lock's hand-over nests one call per
        waiter and overflowed the stack past a few hundred)."""
        waiters = self._opening.get(key)
        if waiters is not None:
            waiter: Deferred = Deferred()
            waiters.append(waiter)
            return await waiter
        self._opening[key] = waiters = []
        try:
            result = await opener(*args)
        except BaseException:
            failure = Failure()
            del self._opening[key]
            for waiter in waiters:
                waiter.errback(failure)
            raise
        del self._opening[key]
        for waiter in waiters:
            waiter.callback(result)
        return result

    async def existing_account(self, username: str) -> Account | None:
        """The store of a user who has one already; None otherwise (another
        user's namespace must never create a store for a name someone typed)."""
        account = self._accounts.get(username)
        if account is not None:
            self._used[username] = time.monotonic()
            return account
        try:
            path = os.path.join(self.user_dir(username), INDEX_FILE)
        except ValueError:
            return None
        if not await self.workers.run(os.path.exists, path):
            return None
        return await self.account(username)

    def loaded_account(self, username: str) -> Account | None:
        """The user's store if this process has it open already, else None."""
        return self._accounts.get(username)

    def loaded_accounts(self) -> list[Account]:
        """Every user's store this process has open."""
        return list(self._accounts.values())

    def idle_accounts(self, idle_for: float) -> list[Account]:
        """Open stores nobody looked up or worked on for ``idle_for`` seconds, that no
        session listens to (a selected folder, IDLE, NOTIFY) and that run no
        operation now: what ``unload`` may close."""
        cutoff = time.monotonic() - idle_for
        return [account for name, account in self._accounts.items()
                if max(self._used.get(name, 0), account.queue.last_used) <= cutoff
                and not account.bus.heard and not account.queue.busy]

    async def unload(self, account: Account, in_use: Callable[[str], bool],
                     before_close: Callable[[Account], Awaitable[Any]] | None = None) -> bool:
        """Close an idle ``account``'s index and forget it, unless ``in_use``
        (a logged-in session holds its own account object, which only the
        server knows) or it was used meanwhile; the next lookup opens the
        user's store again from disk. ``before_close`` (the last backup) runs
        first, with the account still open. Returns whether it was closed."""
        name = account.username
        stamp = self._used.get(name)
        if before_close is not None:
            await before_close(account)
        # Checked after the await: a login or a share lookup may have come in.
        if (self._accounts.get(name) is not account or self._used.get(name) != stamp or in_use(name)
                or account.bus.heard or account.queue.busy):
            return False
        del self._accounts[name]
        self._used.pop(name, None)
        async with account.queue:
            await self.workers.run(account.close_files)
        self._closed_cleanly.add(name)
        return True

    async def usernames(self) -> list[str]:
        """Every user with a store on disk, open in this process or not, sorted."""
        return await self.workers.run(self._usernames_sync)

    def _usernames_sync(self) -> list[str]:
        try:
            entries = os.listdir(os.path.join(self.data_dir, "users"))
        except FileNotFoundError:
            return []
        names = []
        for entry in entries:
            name = unquote(entry)
            # Only directories this store named (a stray file or a name
            # spelled another way is not a user).
            if name and user_dir_name(name) == entry and os.path.exists(os.path.join(self.data_dir, "users", entry, INDEX_FILE)):
                names.append(name)
        return sorted(names)

    def sharing_with(self, username: str) -> list[str]:
        """Users whose ACLs may let ``username`` see some of their folders."""
        return self._shares.owners_for(username) if self._shares is not None else []

    async def close(self) -> None:
        for account in list(self._accounts.values()):
            async with account.queue:
                await self.workers.run(account.close_files)
        self._accounts.clear()
        if self._shares is not None:
            await self.workers.run(self._shares.close)
            self._shares = None
        self.workers.stop()
