"""COPY (RFC 3501 §6.4.7), MOVE (RFC 6851) and their UID forms, with
[COPYUID] (RFC 4315)."""

from __future__ import annotations

from twisted.internet.threads import deferToThreadPool

from ..errors import IMAPError, NoSuchMailbox
from ..imap import response as wire
from ..imap.commands import Copy
from ..cpm.kinds import KIND_ENTRY
from ..server import access
from ..store.interfaces import CopyResult
from .append import permitted_flags
from .fetch import read_message_files
from .quota import limits as quota_limits
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
        target = await access.folder(session, cmd.mailbox, "i")  # RFC 4314 §4
        if cmd.move:
            access.require(view.rights, "te")  # RFC 6851 §3.3: as COPY, STORE \Deleted, EXPUNGE
        if target.account is view.mailbox.account and all(r in target.rights for r in "stw"):
            result = await target.account.copy(view.mailbox, uids, target.name, move=cmd.move, origin=session,
                                               quota=quota_limits(session))
        else:
            result = await _copy_through(session, view, uids, target, cmd.move)
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


async def _copy_through(session, view, uids: list[int], target: access.Folder, move: bool) -> CopyResult:
    """COPY or MOVE into another user's folder, or into one where the user may
    not set every flag: the messages are stored anew there (flags kept only
    as the target's rights allow, RFC 4314 §4); a MOVE then expunges the
    originals. The new copies are durable before anything is removed, so a
    crash in between leaves a duplicate, never a loss."""
    mailbox = view.mailbox
    notes = await mailbox.annotations(uids, session.user)
    paths = [(uid, mailbox.path(uid)) for uid in uids if uid in mailbox]
    reactor = session.context.reactor
    # One trip to a worker thread for all the files (as FETCH reads them).
    bodies = await deferToThreadPool(reactor, reactor.getThreadPool(), read_message_files, paths)
    # Only what is still there: another session may have expunged some meanwhile.
    metas = [meta for meta in await mailbox.meta(uids, cached=False) if meta.uid in bodies]
    messages = []
    for meta in metas:
        # Annotations go along (RFC 5257 §4.5): the shared ones only where the user may set them.
        rows = [("" if kind == "shared" else session.user, entry, value)
                for entry, kind, value in notes.get(meta.uid, [])
                if entry != KIND_ENTRY and (kind == "priv" or "w" in target.rights)]
        messages.append((bodies[meta.uid], permitted_flags(meta.flags, target.rights),
                         meta.internaldate, rows))
    if not messages:
        return CopyResult(0, (), ())
    result = await target.account.append(target.name, messages, quota=quota_limits(session))
    source_uids = tuple(meta.uid for meta in metas)
    if move:
        await mailbox.store_flags(list(source_uids), "+", ("\\Deleted",), origin=session)
        await mailbox.expunge(list(source_uids), origin=session)
    return CopyResult(result.uid_validity, source_uids, result.uids)
