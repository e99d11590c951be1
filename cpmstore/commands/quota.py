"""QUOTA (RFC 9208): GETQUOTA and GETQUOTAROOT, and the limits APPEND, COPY
and MOVE are held to. Every user has one quota root, named "" for themselves
(another user's folders answer with that user's root, ``<prefix>/<owner>``);
it counts the bytes (STORAGE, in KiB) and the messages (MESSAGE) of all
their folders. The limits come from the configuration; SETQUOTA is not
offered (no QUOTASET), so they are not changed over IMAP."""

from __future__ import annotations

from ..errors import NoSuchMailbox
from ..imap import response as wire
from ..imap.commands import GetQuota, GetQuotaRoot
from ..server import access
from .mailbox import encode_name
from .reply import Reply


def limits(session) -> tuple[int, int] | None:
    """(bytes, messages) the owner's store may hold; None: no quota."""
    config = session.context.config.limits
    if not config.quota_storage_bytes and not config.quota_messages:
        return None
    return config.quota_storage_bytes, config.quota_messages


def _root(session, account) -> str:
    return "" if account is session.account else f"{access.prefix(session)}/{account.username}"


async def _quota_line(session, account, root: str) -> bytes | None:
    quota = limits(session)
    if quota is None:
        return None
    messages, size = await account.usage()
    resources = []
    if quota[0]:
        resources.append(b"STORAGE %d %d" % (-(-size // 1024), quota[0] // 1024))
    if quota[1]:
        resources.append(b"MESSAGE %d %d" % (messages, quota[1]))
    return wire.untagged(b"QUOTA " + wire.astring(root.encode()) + b" (" + b" ".join(resources) + b")")


async def getquota(session, cmd: GetQuota) -> Reply:
    if cmd.root != "" or limits(session) is None:
        raise NoSuchMailbox("No such quota root.")
    session.send(await _quota_line(session, session.account, ""))
    return Reply.ok("Getquota completed.")


async def getquotaroot(session, cmd: GetQuotaRoot) -> Reply:
    folder = await access.folder(session, cmd.mailbox)
    root = _root(session, folder.account)
    line = await _quota_line(session, folder.account, root)
    if line is None:
        session.send(wire.untagged(b"QUOTAROOT " + encode_name(cmd.mailbox, session.utf8)))
    else:
        name = encode_name(cmd.mailbox, session.utf8)
        session.send(wire.untagged(b"QUOTAROOT " + name + b" " + wire.astring(root.encode())))
        session.send(line)
    return Reply.ok("Getquotaroot completed.")
