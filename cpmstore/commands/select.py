"""Selecting a folder: SELECT, EXAMINE (RFC 3501 §6.3.1-6.3.2) with the
CONDSTORE and QRESYNC parameters (RFC 7162 §3.1.8, §3.2.5), CHECK, CLOSE
(§6.4.1-6.4.2) and UNSELECT (RFC 3691)."""

from __future__ import annotations

from ..errors import BadCommand
from ..imap import response as wire
from ..imap.commands import Check, Close, Select, Unselect
from ..imap.condstore import QResync, select_params
from ..imap.seqset import SequenceSet
from ..server import access
from ..server.selected import SelectedView
from .reply import Reply

# Rights that let a session change the folder (RFC 4314 §5.2; Dovecot counts i too).
WRITE_RIGHTS = frozenset("iewst")


async def select(session, cmd: Select) -> Reply:
    params = select_params(cmd.params)
    if params.qresync is not None and not session.qresync:
        raise BadCommand("QRESYNC must be enabled first (ENABLE QRESYNC).")  # RFC 7162 §3.2.5
    if session.selected is not None:
        # RFC 7162 §3.2.11: the client learns where the old mailbox's responses end.
        session.deselect()
        session.send(wire.untagged_status(b"OK", "Previous mailbox closed.", b"CLOSED"))
    folder = await access.folder(session, cmd.mailbox, "r")  # RFC 4314 §4
    mailbox = await folder.account.open_mailbox(folder.name)
    if params.condstore:
        session.enabled.add("CONDSTORE")
    # RFC 4314 §5.2: without any right to change the folder, SELECT is read-only.
    readonly = cmd.readonly or not folder.rights & WRITE_RIGHTS
    view = SelectedView(session, mailbox, readonly=readonly, rights=folder.rights)
    for line in view.flags_response():
        session.send(line)
    session.send(wire.untagged(b"%d EXISTS" % view.exists))
    session.send(wire.untagged(b"%d RECENT" % len(view.recent)))
    first_unseen = _first_unseen(view)
    if first_unseen:
        session.send(wire.untagged_status(b"OK", "First unseen.", b"UNSEEN %d" % first_unseen))
    session.send(wire.untagged_status(b"OK", "UIDs valid", b"UIDVALIDITY %d" % mailbox.uid_validity))
    session.send(wire.untagged_status(b"OK", "Predicted next UID", b"UIDNEXT %d" % mailbox.uid_next))
    # RFC 7162 §3.1.2.1: a server that keeps MODSEQs persistently (this one,
    # for every folder) sends HIGHESTMODSEQ on every SELECT and EXAMINE.
    session.send(wire.untagged_status(b"OK", "Highest", b"HIGHESTMODSEQ %d" % mailbox.highest_modseq))
    session.select(view)
    if params.qresync is not None and params.qresync.uid_validity == mailbox.uid_validity:
        await _resync(session, view, params.qresync)
    if cmd.readonly:
        return Reply.ok("Examine completed.", b"READ-ONLY")
    if readonly:
        return Reply.ok("Select completed.", b"READ-ONLY")
    return Reply.ok("Select completed.", b"READ-WRITE")


async def _resync(session, view: SelectedView, qresync: QResync) -> None:
    """RFC 7162 §3.2.5.1: what vanished and what changed since the client's
    modseq. Expunges are kept with their MODSEQs back to a floor
    (``[server] expunge_history`` per folder), so the answer is exact for any
    client newer than it; an older one hears every UID of its known set that
    is absent now (§3.2.5.2), which the seq-match data would only narrow."""
    mailbox = view.mailbox
    largest = max(mailbox.uid_next - 1, 1)
    known = (qresync.known_uids or SequenceSet(((1, largest),))).matcher(largest)
    vanished = await mailbox.vanished_since(qresync.modseq, known.ranges)
    if vanished:
        session.send(wire.untagged(b"VANISHED (EARLIER) " + wire.range_set(vanished)))
    modseq_of = mailbox.modseq_of
    for seq, uid in enumerate(view.uids, 1):
        if modseq_of(uid) > qresync.modseq and uid in known:
            session.send(view.flags_update(seq, uid, with_uid=True))


def _first_unseen(view: SelectedView) -> int:
    """The view was made from the folder's arrays in this same reactor turn,
    so a message's position in the flag column is its sequence number - 1.
    Flag sets are interned: the first of each distinct unseen set is found by
    ``list.index`` (in C) rather than by a call per message."""
    flags = view.mailbox.columns[0]
    unseen = [f for f in set(flags) if "\\Seen" not in f]
    return min(flags.index(f) for f in unseen) + 1 if unseen else 0


async def check(session, cmd: Check) -> Reply:
    return Reply.ok("Check completed.")


async def close(session, cmd: Close) -> Reply:
    view = session.selected
    if not view.readonly and "e" in view.rights:
        # CLOSE expunges silently (RFC 3501 §6.4.2): no EXPUNGE responses;
        # without the e right it just closes (RFC 4314 §4).
        await view.mailbox.expunge(None, origin=session)
    session.deselect()
    return Reply.ok("Close completed.")


async def unselect(session, cmd: Unselect) -> Reply:
    session.deselect()
    return Reply.ok("Unselect completed.")
