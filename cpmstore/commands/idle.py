"""IDLE (RFC 2177): changes are pushed from the change bus as they commit;
the command ends only on DONE."""

from __future__ import annotations

from ..errors import BadCommand
from ..imap import response as wire
from ..imap.commands import Idle
from .reply import Reply


async def idle(session, cmd: Idle) -> Reply:
    session.send(wire.continuation(b"idling"))
    session.idling = True
    try:
        session.flush_updates(allow_expunge=True)
        line = await session.protocol.read_line()
    finally:
        session.idling = False
    if line is None:
        return Reply(b"BAD", "Connection closed.")
    if line.strip().upper() != b"DONE":
        raise BadCommand("Expected DONE.")
    return Reply.ok("Idle completed.")
