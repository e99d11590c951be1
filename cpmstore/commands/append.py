"""APPEND (RFC 3501 §6.3.11), MULTIAPPEND (RFC 3502), [APPENDUID] (RFC 4315)."""

from __future__ import annotations

from ..errors import NoSuchMailbox
from ..imap import response as wire
from ..imap.commands import Append
from .reply import Reply


async def append(session, cmd: Append) -> Reply:
    limit = session.context.config.limits.max_append_messages
    if len(cmd.messages) > limit:
        return Reply(b"NO", f"Too many messages in one APPEND (limit {limit}).", b"LIMIT")
    if any(not m.data for m in cmd.messages):
        # An empty message is no RFC 5322 message at all (Dovecot refuses it too).
        return Reply(b"NO", "Can't save a zero byte message.")
    messages = [(m.data, m.flags, m.date) for m in cmd.messages]
    try:
        result = await session.account.append(cmd.mailbox, messages)
    except NoSuchMailbox:
        return Reply(b"NO", "Mailbox doesn't exist: " + cmd.mailbox, b"TRYCREATE")
    code = b"APPENDUID %d %s" % (result.uid_validity, wire.number_set(result.uids))
    return Reply.ok("Append completed.", code)
