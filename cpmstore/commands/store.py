"""STORE and UID STORE (RFC 3501 §6.4.6): set, add or remove flags."""

from __future__ import annotations

from ..errors import IMAPError
from ..imap.commands import Store
from .reply import Reply

_BATCH = 1000


async def store(session, cmd: Store) -> Reply:
    view = session.selected
    if view.readonly:
        raise IMAPError("Mailbox is read-only.", b"READ-ONLY")
    pairs = view.present(view.resolve(cmd.sequence_set, cmd.uid))
    if not pairs:
        return Reply.ok("Store completed.")
    await view.mailbox.store_flags([uid for _seq, uid in pairs], cmd.mode, tuple(cmd.flags), origin=session)
    for line in view.note_keywords(cmd.flags if cmd.mode != "-" else ()):
        session.send(line)
    if not cmd.silent:
        for n, (seq, uid) in enumerate(pairs, 1):
            items = b"FLAGS " + view.encoded_flags(uid)
            if cmd.uid:
                items = b"UID %d " % uid + items
            session.send(b"* %d FETCH (%s)\r\n" % (seq, items))
            if n % _BATCH == 0:
                await session.drained()
    return Reply.ok("Store completed.")
