"""Commands valid in any state and session-wide settings: CAPABILITY, NOOP,
LOGOUT (RFC 3501 §6.1), ID (RFC 2971), ENABLE (RFC 5161), NAMESPACE (RFC 2342)."""

from __future__ import annotations

from .. import __version__
from ..imap import response as wire
from ..imap.commands import Capability, Enable, Id, Logout, Namespace, Noop
from .reply import Reply

# Nothing we advertise is ENABLE-able yet (CONDSTORE/QRESYNC/UTF8=ACCEPT later).
ENABLEABLE: frozenset[str] = frozenset()


async def capability(session, cmd: Capability) -> Reply:
    session.send(wire.untagged(b"CAPABILITY " + b" ".join(session.capabilities())))
    return Reply.ok("Capability completed.")


async def noop(session, cmd: Noop) -> Reply:
    return Reply.ok("NOOP completed.")


async def logout(session, cmd: Logout) -> None:
    session.send(wire.untagged_status(b"BYE", "Logging out"))
    session.send(wire.tagged(cmd.tag, b"OK", "Logout completed."))
    session.protocol.close()
    return None


async def id_(session, cmd: Id) -> Reply:
    info = [b"name", b"cpmstore", b"version", __version__.encode()]
    session.send(wire.untagged(b"ID " + wire.encode_value(info)))
    return Reply.ok("ID completed.")


async def enable(session, cmd: Enable) -> Reply:
    newly = [c for c in cmd.capabilities if c in ENABLEABLE and c not in session.enabled]
    session.enabled.update(newly)
    session.send(wire.untagged(b" ".join([b"ENABLED"] + [c.encode() for c in newly])))
    return Reply.ok("Enabled.")


async def namespace(session, cmd: Namespace) -> Reply:
    personal = [[b"", b"/"]]
    session.send(wire.untagged(b"NAMESPACE " + wire.encode_value(personal) + b" NIL NIL"))
    return Reply.ok("Namespace completed.")
