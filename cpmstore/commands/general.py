"""Commands valid in any state and session-wide settings: CAPABILITY, NOOP,
LOGOUT (RFC 3501 §6.1), ID (RFC 2971), ENABLE (RFC 5161), NAMESPACE (RFC 2342)."""

from __future__ import annotations

from .. import __version__
from ..imap import mutf7
from ..imap import response as wire
from ..imap.commands import Capability, Enable, Id, Logout, Namespace, Noop
from .reply import Reply

# What ENABLE can switch on (RFC 5161 §3.1); QRESYNC implies CONDSTORE (RFC 7162 §3.2.3).
ENABLEABLE: frozenset[str] = frozenset({"CONDSTORE", "QRESYNC"})


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
    newly = []
    for cap in cmd.capabilities:
        if cap in ENABLEABLE and cap not in session.enabled and cap not in newly:
            newly.append(cap)
    if "QRESYNC" in newly and "CONDSTORE" not in session.enabled and "CONDSTORE" not in newly:
        session.enabled.add("CONDSTORE")
    session.enabled.update(newly)
    session.send(wire.untagged(b" ".join([b"ENABLED"] + [c.encode() for c in newly])))
    return Reply.ok("Enabled.")


async def namespace(session, cmd: Namespace) -> Reply:
    # RFC 2342: one's own folders, then other users' shared ones (server/access.py).
    personal = [[b"", b"/"]]
    others = [[mutf7.encode(session.context.config.server.other_users_prefix + "/"), b"/"]]
    session.send(wire.untagged(b"NAMESPACE " + wire.encode_value(personal) + b" " + wire.encode_value(others) + b" NIL"))
    return Reply.ok("Namespace completed.")
