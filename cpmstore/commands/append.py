"""APPEND (RFC 3501 §6.3.11), MULTIAPPEND (RFC 3502), [APPENDUID] (RFC 4315),
literal8 messages (RFC 3516 §4.4: stored as sent), CATENATE (RFC 4469,
see ``catenate``) and ``UTF8 (literal8)`` (RFC 6855 §4). MULTIAPPEND is all or none: every catenated message is
built before anything is stored."""

from __future__ import annotations

from ..errors import NoSuchMailbox
from ..imap import response as wire
from ..imap.commands import Append, AppendMessage
from ..server import access
from .catenate import assemble
from .quota import limits as quota_limits
from .reply import Reply
from .store import annotation_rows

_FLAG_RIGHTS = {"\\Seen": "s", "\\Deleted": "t"}


def permitted_flags(flags, rights: frozenset[str]) -> tuple[str, ...]:
    """RFC 4314 §4: APPEND and COPY set \\Seen only with s, \\Deleted only
    with t, any other flag only with w; the rest are silently dropped."""
    return tuple(flag for flag in flags if _FLAG_RIGHTS.get(flag, "w") in rights)


async def append(session, cmd: Append) -> Reply:
    limit = session.context.config.limits.max_append_messages
    if len(cmd.messages) > limit:
        return Reply(b"NO", f"Too many messages in one APPEND (limit {limit}).", b"LIMIT")
    if not session.utf8:
        for message in cmd.messages:
            refused = _refused_before_utf8(message)
            if refused is not None:
                return refused
    if any(not m.data and not m.catenate for m in cmd.messages):
        # An empty message is no RFC 5322 message at all (Dovecot refuses it too).
        return Reply(b"NO", "Can't save a zero byte message.")
    try:
        folder = await access.folder(session, cmd.mailbox, "i")  # RFC 4314 §4
        datas = [await _data(session, m) for m in cmd.messages]
        if not all(datas):
            return Reply(b"NO", "Can't save a zero byte message.")
        messages = [(data, permitted_flags(m.flags, folder.rights), m.date,
                     annotation_rows(session, m.annotations, folder.rights), m.binary or bool(m.catenate))
                    for data, m in zip(datas, cmd.messages)]
        result = await folder.account.append(folder.name, messages, quota=quota_limits(session))
    except NoSuchMailbox:
        return Reply(b"NO", "Mailbox doesn't exist: " + cmd.mailbox, b"TRYCREATE")
    session.context.metrics.appended(len(datas), sum(map(len, datas)))
    code = b"APPENDUID %d %s" % (result.uid_validity, wire.number_set(result.uids))
    return Reply.ok("Append completed.", code)


def _refused_before_utf8(message: AppendMessage) -> Reply | None:
    """RFC 6855 §4: the ``UTF8`` data extension is open only after ENABLE
    UTF8=ACCEPT (BAD otherwise). A plain APPEND whose header has 8-bit octets
    is stored all the same, a deliberate deviation from that section's MUST:
    phones and the CPM network deposit such objects without enabling
    anything, and refusing them would lose their messages (Dovecot stores
    them as well)."""
    if message.utf8 or any(part.utf8 for part in message.catenate):
        return Reply(b"BAD", "APPEND UTF8 needs ENABLE UTF8=ACCEPT first.")
    return None


async def _data(session, message) -> bytes:
    if not message.catenate:
        return message.data
    return await assemble(session, message.catenate, session.context.config.limits.max_literal_bytes)
