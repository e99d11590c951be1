"""STORE and UID STORE (RFC 3501 §6.4.6): set, add or remove flags, or
message annotations (STORE ANNOTATION, RFC 5257 §4.5); with UNCHANGEDSINCE
and [MODIFIED] (RFC 7162 §3.1.3)."""

from __future__ import annotations

from ..cpm.kinds import KIND_ENTRY
from ..errors import Forbidden, IMAPError
from ..imap import response as wire
from ..imap.commands import Store
from ..imap.condstore import store_unchanged_since
from .fetch import state_responses
from .reply import Reply


def annotation_rows(session, annotations, rights: frozenset[str]) -> list[tuple[str, str, bytes | None]]:
    """(owner, entry, value) rows for a STORE or APPEND ANNOTATION (RFC 5257
    §4.5, §4.7): value.shared has the owner "", value.priv the user. A shared
    value needs the w right (RFC 5257's n right, which RIGHTS=texk lacks)."""
    limit = session.context.config.limits.max_metadata_value_bytes
    rows = []
    for entry, attribs in annotations:
        if entry == KIND_ENTRY:
            raise Forbidden(f"{KIND_ENTRY} is set by the server (the object kind) and can't be changed.")
        for attrib, value in attribs:
            shared = attrib == "value.shared"
            if shared and "w" not in rights:
                raise Forbidden("Permission denied (needs the w right to change shared annotations).")
            if value is not None and len(value) > limit:
                raise IMAPError("Annotation value too large.", b"ANNOTATE TOOBIG")
            rows.append(("" if shared else session.user, entry, value))
    return rows


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
    uids = [uid for _seq, uid in pairs]
    annotating = cmd.annotations is not None
    if annotating:
        rows = annotation_rows(session, cmd.annotations, view.rights)
        changes = await mailbox.store_annotations(uids, rows, origin=session, unchanged_since=unchanged_since,
                                                  max_entries=session.context.config.limits.max_metadata_entries)
    else:
        # RFC 4314 §4: flags the user may not change are silently left alone (as in Dovecot).
        allowed = None if all(r in view.rights for r in "stw") else view.may_store
        changes = await mailbox.store_flags(uids, cmd.mode, tuple(cmd.flags), origin=session,
                                            unchanged_since=unchanged_since, allowed=allowed)
    changed = {uid for uid, _flags, _modseq in changes}
    modified = []
    if unchanged_since is not None:
        # Modseqs only grow, so one left alone above the bound was refused.
        modified = [(seq, uid) for seq, uid in pairs
                    if uid not in changed and uid in mailbox and mailbox.modseq_of(uid) > unchanged_since]
    spelled = [mailbox.spell(flag, register=False) for flag in cmd.flags]
    for line in view.note_keywords(spelled if cmd.mode != "-" else ()):
        session.send(line)
    refused = {uid for _seq, uid in modified}
    answered = [pair for pair in pairs if pair[1] not in refused] if refused else pairs
    uid_item = ["UID"] if cmd.uid or session.qresync else []  # RFC 7162 §3.2.4
    if not cmd.silent and not annotating:
        items = uid_item + ["FLAGS"] + (["MODSEQ"] if session.condstore else [])
    elif session.condstore:
        # RFC 7162 §3.1.3: even .SILENT tells the new MODSEQ of what changed.
        items = uid_item + ["MODSEQ"]
        answered = [pair for pair in answered if pair[1] in changed]
    else:
        answered = []
    # The folder's columns, as FETCH reads them: one template for the whole
    # answer, a batch at a time so that a huge STORE waits for the socket.
    for start in range(0, len(answered), _BATCH):
        if start:
            await session.drained()
        session.send(b"".join(state_responses(view, items, answered[start:start + _BATCH])))
    if modified:
        numbers = [uid if cmd.uid else seq for seq, uid in modified]
        return Reply.ok("Conditional STORE failed.", b"MODIFIED " + wire.number_set(numbers))
    return Reply.ok("Store completed.")
