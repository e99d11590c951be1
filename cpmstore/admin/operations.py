"""What ``cpmstore-admin`` does to a user's store, written once for both places it runs.

Each operation is an ``async`` function of a ``MaildirStore`` and JSON-able
arguments that returns a JSON-able result. The running server runs them
through its own store when the control socket asks (``server.control``), so
open sessions hear of every change on the user's change bus; with the server
stopped, ``cpmstore-admin`` runs the very same functions on a store it opens
itself in a private reactor (``run_offline``), holding ``server.lock``.
Every change goes through the ``Account`` / ``Mailbox`` API, never around
it; blocking file work runs in the store's worker threads. Nothing here
prints or parses command lines (``cpmstore.admin`` does).
"""

from __future__ import annotations

from datetime import date
from typing import Any, Awaitable, Callable

from ..errors import IMAPError
from ..store.account import Account
from ..store.store import MaildirStore

__all__ = ["OPERATIONS", "OperationFailed", "run_offline"]

DELETED = "\\Deleted"


class OperationFailed(Exception):
    """The operation could not be done; the message says why."""


async def existing_account(store: MaildirStore, user: str, create: bool = False) -> Account:
    """The user's store; ``create`` (the caller knows the user from the users
    file) makes it as a first login would, else OperationFailed when missing."""
    try:
        account = await (store.account(user) if create else store.existing_account(user))
    except ValueError:
        account = None
    if account is None:
        raise OperationFailed(f"no data for user {user}")
    return account


async def mailbox_list(store: MaildirStore, user: str, create: bool = False) -> list[dict[str, Any]]:
    """Every folder of ``user``: name, special use, subscribed; by name."""
    account = await existing_account(store, user, create)
    folders = await account.list_mailboxes()
    return [{"name": info.name, "special_use": info.special_use, "subscribed": info.subscribed}
            for info in sorted(folders, key=lambda info: info.name)]


async def mailbox_status(store: MaildirStore, user: str, name: str | None = None,
                         create: bool = False) -> list[dict[str, Any]]:
    """STATUS of one folder, or of every folder when ``name`` is None: what a
    client's STATUS (MESSAGES UIDVALIDITY UIDNEXT HIGHESTMODSEQ SIZE) gives."""
    account = await existing_account(store, user, create)
    names = [name] if name is not None else sorted(info.name for info in await account.list_mailboxes())
    rows = []
    for each in names:
        try:
            status = await account.status(each)
        except IMAPError as e:
            raise OperationFailed(f"{each}: {e.text}") from None
        rows.append({"name": each, "messages": status.messages, "uidvalidity": status.uid_validity,
                     "uidnext": status.uid_next, "highestmodseq": status.highest_modseq, "size": status.size})
    return rows


async def mailbox_create(store: MaildirStore, user: str, name: str, create: bool = False) -> dict[str, Any]:
    account = await existing_account(store, user, create)
    try:
        info = await account.create_mailbox(name)
    except IMAPError as e:
        raise OperationFailed(f"{name}: {e.text}") from None
    return {"name": info.name, "uidvalidity": info.uid_validity}


async def mailbox_delete(store: MaildirStore, user: str, name: str, create: bool = False) -> dict[str, Any]:
    account = await existing_account(store, user, create)
    try:
        await account.delete_mailbox(name)
    except IMAPError as e:
        raise OperationFailed(f"{name}: {e.text}") from None
    return {"name": name}


async def expunge(store: MaildirStore, user: str, mailbox: str, deleted: bool = False,
                  before: str | None = None, create: bool = False) -> dict[str, Any]:
    """Expunge the \\Deleted messages (``deleted``), or those whose INTERNALDATE,
    time and timezone disregarded, is earlier than ``before`` (YYYY-MM-DD), as
    SEARCH BEFORE compares (RFC 3501 §6.4.4). The latter are first flagged
    \\Deleted (one STORE) and then expunged, so sessions see what a client's
    STORE and EXPUNGE would show them; one a client un-deletes in between stays."""
    if deleted == (before is not None):
        raise OperationFailed("expunge takes either deleted or before")
    account = await existing_account(store, user, create)
    try:
        folder = await account.open_mailbox(mailbox)
    except IMAPError as e:
        raise OperationFailed(f"{mailbox}: {e.text}") from None
    if deleted:
        removed = await folder.expunge()
    else:
        try:
            cutoff = date.fromisoformat(before or "")
        except ValueError:
            raise OperationFailed(f"before: expected YYYY-MM-DD, got {before!r}") from None
        metas = await folder.meta(list(folder.uids), cached=False)
        doomed = [meta.uid for meta in metas if meta.internaldate.date() < cutoff]
        removed = []
        if doomed:
            await folder.store_flags(doomed, "+", (DELETED,))
            removed = await folder.expunge(doomed)
    return {"mailbox": folder.name, "expunged": list(removed)}


Operation = Callable[..., Awaitable[Any]]


def _operations() -> dict[str, Operation]:
    from .maildirs import export_maildir, import_maildir

    return {
        "mailbox-list": mailbox_list,
        "mailbox-status": mailbox_status,
        "mailbox-create": mailbox_create,
        "mailbox-delete": mailbox_delete,
        "expunge": expunge,
        "export": export_maildir,
        "import": import_maildir,
    }


OPERATIONS: dict[str, Operation] = _operations()


def run_offline(data_dir: str, operation: Operation, **args: Any) -> Any:
    """Run ``operation`` on a store of ``data_dir`` opened in a private
    reactor (not the global one: a test may have that running already), and
    close it again. The caller holds ``server.lock``."""
    from twisted.internet.defer import Deferred
    from twisted.internet.selectreactor import SelectReactor
    from twisted.python.failure import Failure

    reactor = SelectReactor()
    outcome: list[Any] = []

    async def work() -> Any:
        store = MaildirStore(data_dir, reactor)
        try:
            return await operation(store, **args)
        finally:
            await store.close()

    def finish(result: Any) -> None:
        outcome.append(result)
        reactor.stop()

    reactor.callWhenRunning(lambda: Deferred.fromCoroutine(work()).addBoth(finish))
    reactor.run(installSignalHandlers=False)
    # The reactor's wake-up pipe would otherwise stay open for the process's life.
    reactor.waker.connectionLost(None)
    result = outcome[0]
    if isinstance(result, Failure):
        result.raiseException()
    return result
