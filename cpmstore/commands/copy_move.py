"""COPY (RFC 3501 §6.4.7), MOVE (RFC 6851) and their UID forms, with
[COPYUID] (RFC 4315)."""

from __future__ import annotations

from ..errors import IMAPError, NoSuchMailbox
from ..imap import response as wire
from ..imap.commands import Copy
from .reply import Reply


async def copy(session, cmd: Copy) -> Reply:
    view = session.selected
    if cmd.move and view.readonly:
        raise IMAPError("Mailbox is read-only.", b"READ-ONLY")
    pairs = view.present(view.resolve(cmd.sequence_set, cmd.uid))
    verb = "Move" if cmd.move else "Copy"
    if not pairs:
        return Reply.ok("No messages found.")
    uids = [uid for _seq, uid in pairs]
    try:
        result = await session.account.copy(view.mailbox, uids, cmd.mailbox, move=cmd.move, origin=session)
    except NoSuchMailbox:
        return Reply(b"NO", "Mailbox doesn't exist: " + cmd.mailbox, b"TRYCREATE")
    code = b"COPYUID %d %s %s" % (result.uid_validity, wire.number_set(result.src_uids),
                                  wire.number_set(result.dst_uids))
    if cmd.move:
        # RFC 6851 §4.3: COPYUID goes in an untagged OK before the expunges.
        session.send(wire.untagged_status(b"OK", "Moved UIDs.", code))
        session.flush_updates(allow_expunge=True)
        return Reply.ok(f"{verb} completed.")
    return Reply.ok(f"{verb} completed.", code)
