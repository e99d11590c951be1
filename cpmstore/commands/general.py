"""Commands valid in any state and session-wide settings: CAPABILITY, NOOP,
LOGOUT (RFC 3501 §6.1), ID (RFC 2971), ENABLE (RFC 5161), NAMESPACE (RFC 2342)."""

from __future__ import annotations

from .. import __version__
from ..imap import names
from ..imap import response as wire
from ..imap.commands import Capability, Enable, Id, Logout, Namespace, Noop
from .reply import Reply

# What ENABLE can switch on (RFC 5161 §3.1); QRESYNC implies CONDSTORE (RFC 7162 §3.2.3).
ENABLEABLE: frozenset[str] = frozenset({"CONDSTORE", "QRESYNC", "UTF8=ACCEPT"})


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
    if session.selected is not None and "UTF8=ACCEPT" in newly:
        # RFC 6855 §3: only valid in the authenticated state; the client sees
        # from ENABLED that names stay modified UTF-7.
        newly.remove("UTF8=ACCEPT")
    if "QRESYNC" in newly and "CONDSTORE" not in session.enabled and "CONDSTORE" not in newly:
        session.enabled.add("CONDSTORE")
    session.enabled.update(newly)
    session.send(wire.untagged(b" ".join([b"ENABLED"] + [c.encode() for c in newly])))
    return Reply.ok("Enabled.")


async def namespace(session, cmd: Namespace) -> Reply:
    # RFC 2342: one's own folders, then other users' shared ones (server/access.py).
    personal = [[b"", b"/"]]
    prefix = names.encode(session.context.config.server.other_users_prefix + "/", session.utf8)
    others = [[wire.Atom(prefix), b"/"]]
    session.send(wire.untagged(b"NAMESPACE " + wire.encode_value(personal) + b" " + wire.encode_value(others) + b" NIL"))
    return Reply.ok("Namespace completed.")
