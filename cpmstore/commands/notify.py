"""NOTIFY SET and NOTIFY NONE (RFC 5465 §3): the client names the mailboxes and
events it wants to hear about; changes are then pushed from the change bus
between commands, without IDLE and without polling."""

from __future__ import annotations

from ..imap.commands import Notify
from ..server.notify import Notifier, check_groups, shared_accounts, status_line
from .reply import Reply


async def notify(session, cmd: Notify) -> Reply:
    if session.notifier is not None:
        session.notifier.close()
        session.notifier = None
    if not cmd.groups:
        return Reply.ok("NOTIFY completed.")
    check_groups(cmd.groups)
    account = session.account
    names = {m.id: m.name for m in await account.list_mailboxes()}
    subscribed = set(await account.subscriptions())
    others = await shared_accounts(session, session.context.store.sharing_with(session.user))
    notifier = Notifier(session, cmd, names, subscribed, tuple(others))
    session.notifier = notifier
    if cmd.status:
        # RFC 5465 §3.1: the state each named mailbox is in now, to start from.
        for name in notifier.status_targets():
            session.send(await status_line(session, name))
    return Reply.ok("NOTIFY completed.")
