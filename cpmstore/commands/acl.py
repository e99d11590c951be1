"""Access control commands: SETACL, DELETEACL, GETACL, LISTRIGHTS, MYRIGHTS
(RFC 4314 §3). Which rights each command needs is RFC 4314 §4; the rights
arithmetic is ``auth/acl.py`` and the checks ``server/access.py``."""

from __future__ import annotations

from ..auth.acl import InvalidRights, check_identifier, effective_acl, format_rights
from ..auth.acl import listrights as rights_choices
from ..errors import BadCommand, IMAPError
from ..imap import response as wire
from ..imap.commands import DeleteAcl, GetAcl, ListRights, MyRights, SetAcl
from ..server import access
from .mailbox import encode_name
from .reply import Reply


async def setacl(session, cmd: SetAcl) -> Reply:
    folder = await access.folder(session, cmd.mailbox, "a")
    if cmd.identifier != folder.owner and session.context.config.server.workers > 1:
        # Another user's account may live in another worker process, where
        # this folder could not be reached (DESIGN: several worker processes).
        raise IMAPError("Folders cannot be shared while the server runs several worker processes "
                        "([server] workers > 1).", b"CANNOT")
    try:
        await folder.account.set_acl(folder.name, cmd.identifier, cmd.rights)
    except InvalidRights as exc:
        raise BadCommand(str(exc)) from None  # RFC 4314 §3.1: an unknown right is BAD
    return Reply.ok("Setacl completed.")


async def deleteacl(session, cmd: DeleteAcl) -> Reply:
    folder = await access.folder(session, cmd.mailbox, "a")
    try:
        check_identifier(cmd.identifier)
        await folder.account.delete_acl(folder.name, cmd.identifier)
    except InvalidRights as exc:
        raise BadCommand(str(exc)) from None
    return Reply.ok("Deleteacl completed.")


async def getacl(session, cmd: GetAcl) -> Reply:
    folder = await access.folder(session, cmd.mailbox, "a")
    entries = effective_acl(folder.account.stored_acl(folder.name), folder.owner)
    words = [encode_name(cmd.mailbox, session.utf8)]
    for identifier, rights in entries.items():
        words += [wire.astring(identifier.encode()), wire.astring(rights.encode())]
    session.send(wire.untagged(b"ACL " + b" ".join(words)))
    return Reply.ok("Getacl completed.")


async def listrights(session, cmd: ListRights) -> Reply:
    folder = await access.folder(session, cmd.mailbox, "a")
    try:
        always, groups = rights_choices(folder.owner, cmd.identifier)
    except InvalidRights as exc:
        raise BadCommand(str(exc)) from None
    words = [encode_name(cmd.mailbox, session.utf8), wire.astring(cmd.identifier.encode()),
             wire.astring(always.encode())]
    words += [wire.astring(group.encode()) for group in groups]
    session.send(wire.untagged(b"LISTRIGHTS " + b" ".join(words)))
    return Reply.ok("Listrights completed.")


async def myrights(session, cmd: MyRights) -> Reply:
    folder = await access.folder(session, cmd.mailbox)  # any right (RFC 4314 §4)
    session.send(wire.untagged(b"MYRIGHTS " + encode_name(cmd.mailbox, session.utf8) + b" "
                               + wire.astring(format_rights(folder.rights).encode())))
    return Reply.ok("Myrights completed.")
