"""EXPUNGE (RFC 3501 §6.4.3) and UID EXPUNGE (RFC 4315 §2.1), with
HIGHESTMODSEQ once QRESYNC is on (RFC 7162 §3.2.10)."""

from __future__ import annotations

from ..errors import IMAPError
from ..imap.commands import Expunge
from ..server.access import require
from .reply import Reply


async def expunge(session, cmd: Expunge) -> Reply:
    view = session.selected
    if view.readonly:
        raise IMAPError("Mailbox is read-only.", b"READ-ONLY")
    require(view.rights, "e")  # RFC 4314 §4
    uids = None
    if cmd.uid_set is not None:
        uids = [uid for _seq, uid in view.resolve(cmd.uid_set, uid=True)]
        if not uids:
            return Reply.ok("Expunge completed.")
    # The EXPUNGE responses come from the change bus, like anyone else's
    # expunge, when the session flushes before the tagged reply.
    await view.mailbox.expunge(uids, origin=session)
    if session.qresync:
        # RFC 7162 §3.2.10: the client learns the modseq its cache is now at.
        return Reply.ok("Expunge completed.", b"HIGHESTMODSEQ %d" % view.mailbox.highest_modseq)
    return Reply.ok("Expunge completed.")
