"""Selecting a folder: SELECT, EXAMINE (RFC 3501 §6.3.1-6.3.2), CHECK, CLOSE
(§6.4.1-6.4.2) and UNSELECT (RFC 3691)."""

from __future__ import annotations

from ..imap import response as wire
from ..imap.commands import Check, Close, Select, Unselect
from ..server.selected import SelectedView
from .reply import Reply


async def select(session, cmd: Select) -> Reply:
    # A failed SELECT leaves no mailbox selected (RFC 3501 §6.3.1).
    session.deselect()
    mailbox = await session.account.open_mailbox(cmd.mailbox)
    view = SelectedView(session, mailbox, readonly=cmd.readonly)
    for line in view.flags_response():
        session.send(line)
    session.send(wire.untagged(b"%d EXISTS" % view.exists))
    session.send(wire.untagged(b"%d RECENT" % len(view.recent)))
    first_unseen = _first_unseen(view)
    if first_unseen:
        session.send(wire.untagged_status(b"OK", "First unseen.", b"UNSEEN %d" % first_unseen))
    session.send(wire.untagged_status(b"OK", "UIDs valid", b"UIDVALIDITY %d" % mailbox.uid_validity))
    session.send(wire.untagged_status(b"OK", "Predicted next UID", b"UIDNEXT %d" % mailbox.uid_next))
    session.select(view)
    if cmd.readonly:
        return Reply.ok("Examine completed.", b"READ-ONLY")
    return Reply.ok("Select completed.", b"READ-WRITE")


def _first_unseen(view: SelectedView) -> int:
    flags_of = view.mailbox.flags_of
    for seq, uid in enumerate(view.uids, 1):
        if "\\Seen" not in flags_of(uid):
            return seq
    return 0


async def check(session, cmd: Check) -> Reply:
    return Reply.ok("Check completed.")


async def close(session, cmd: Close) -> Reply:
    view = session.selected
    if not view.readonly:
        # CLOSE expunges silently (RFC 3501 §6.4.2): no EXPUNGE responses.
        await view.mailbox.expunge(None, origin=session)
    session.deselect()
    return Reply.ok("Close completed.")


async def unselect(session, cmd: Unselect) -> Reply:
    session.deselect()
    return Reply.ok("Unselect completed.")
