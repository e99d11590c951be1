"""STORE and UID STORE (RFC 3501 §6.4.6): set, add or remove flags; with
UNCHANGEDSINCE and [MODIFIED] (RFC 7162 §3.1.3)."""

from __future__ import annotations

from ..errors import IMAPError
from ..imap import response as wire
from ..imap.commands import Store
from ..imap.condstore import store_unchanged_since
from .reply import Reply

_BATCH = 1000


async def store(session, cmd: Store) -> Reply:
    view = session.selected
    if view.readonly:
        raise IMAPError("Mailbox is read-only.", b"READ-ONLY")
    unchanged_since = store_unchanged_since(cmd.modifiers)
    if unchanged_since is not None:
        session.enable_condstore()
    pairs = view.present(view.resolve(cmd.sequence_set, cmd.uid))
    if not pairs:
        return Reply.ok("Store completed.")
    mailbox = view.mailbox
    # RFC 4314 §4: flags the user may not change are silently left alone (as in Dovecot).
    allowed = None if all(r in view.rights for r in "stw") else view.may_store
    changes = await mailbox.store_flags([uid for _seq, uid in pairs], cmd.mode, tuple(cmd.flags),
                                        origin=session, unchanged_since=unchanged_since, allowed=allowed)
    changed = {uid for uid, _flags, _modseq in changes}
    modified = []
    if unchanged_since is not None:
        # Modseqs only grow, so one left alone above the bound was refused.
        modified = [(seq, uid) for seq, uid in pairs
                    if uid not in changed and uid in mailbox and mailbox.modseq_of(uid) > unchanged_since]
    for line in view.note_keywords(cmd.flags if cmd.mode != "-" else ()):
        session.send(line)
    refused = {uid for _seq, uid in modified}
    for n, (seq, uid) in enumerate(pairs, 1):
        if uid in refused or uid not in mailbox:
            continue
        if not cmd.silent:
            session.send(view.flags_update(seq, uid, with_uid=cmd.uid))
        elif session.condstore and uid in changed:
            # RFC 7162 §3.1.3: even .SILENT tells the new MODSEQ of what changed.
            prefix = b"UID %d " % uid if cmd.uid or session.qresync else b""
            session.send(b"* %d FETCH (%sMODSEQ (%d))\r\n" % (seq, prefix, mailbox.modseq_of(uid)))
        if n % _BATCH == 0:
            await session.drained()
    if modified:
        numbers = [uid if cmd.uid else seq for seq, uid in modified]
        return Reply.ok("Conditional STORE failed.", b"MODIFIED " + wire.number_set(numbers))
    return Reply.ok("Store completed.")
