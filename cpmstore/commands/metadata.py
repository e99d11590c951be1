"""Folder and server metadata: GETMETADATA and SETMETADATA (RFC 5464 §4).

CPM keeps per-conversation settings in folder metadata. ``/shared`` entries
are one value for everyone who can see the folder; ``/private`` entries one
value per user. The mailbox "" means the server: its ``/private`` entries
belong to the user, its ``/shared`` entries to the administrator (read-only
here, as in Dovecot). Rights (RFC 5464 §3.3 with RFC 4314): reading needs
``l`` and ``r``; writing ``/private`` the same, writing ``/shared`` also ``w``.
"""

from __future__ import annotations

from ..errors import Forbidden, IMAPError
from ..imap import response as wire
from ..imap.commands import GetMetadata, SetMetadata
from ..server import access
from .mailbox import encode_name
from .reply import Reply


async def _target(session, mailbox: str, need: str):
    """(account, folder name or None for the server)."""
    if mailbox == "":
        return session.account, None
    folder = await access.folder(session, mailbox, need)
    return folder.account, folder.name


def select_entries(values: dict[str, bytes], wanted: tuple[str, ...], depth: str) -> list[tuple[str, bytes | None]]:
    """What GETMETADATA returns (RFC 5464 §4.2, §4.2.2): each entry asked for
    (NIL when it has no value and no DEPTH was given) and, with DEPTH, the
    entries below it, one level or all."""
    found: dict[str, bytes | None] = {}
    for entry in wanted:
        if entry in values:
            found[entry] = values[entry]
        elif depth == "0":
            found[entry] = None
        if depth != "0":
            below = entry + "/"
            for name in sorted(values):
                rest = name[len(below):]
                if name.startswith(below) and (depth == "infinity" or "/" not in rest):
                    found[name] = values[name]
    return list(found.items())


def _value(value: bytes | None) -> bytes:
    if value is None:
        return b"NIL"
    if b"\0" in value:
        return wire.literal8(value)  # RFC 5464 §5, RFC 3516
    return wire.string(value)


async def getmetadata(session, cmd: GetMetadata) -> Reply:
    account, name = await _target(session, cmd.mailbox, "lr")
    values = await account.get_metadata(name, session.user)
    entries = select_entries(values, cmd.entries, cmd.depth)
    longest = 0
    if cmd.maxsize is not None:
        # RFC 5464 §4.2.1: values over MAXSIZE are left out; the client learns
        # the size of the largest one it did not get.
        longest = max((len(v) for _, v in entries if v is not None and len(v) > cmd.maxsize), default=0)
        entries = [(e, v) for e, v in entries if v is None or len(v) <= cmd.maxsize]
    if entries:
        words = [wire.astring(e.encode()) + b" " + _value(v) for e, v in entries]
        shown = encode_name(cmd.mailbox, session.utf8)
        session.send(wire.untagged(b"METADATA " + shown + b" (" + b" ".join(words) + b")"))
    if longest:
        return Reply.ok("Getmetadata completed.", b"METADATA LONGENTRIES %d" % longest)
    return Reply.ok("Getmetadata completed.")


async def setmetadata(session, cmd: SetMetadata) -> Reply:
    limits = session.context.config.limits
    shared = any(entry.startswith("/shared") for entry, _ in cmd.entries)
    if cmd.mailbox == "" and shared:
        raise Forbidden("Server /shared entries are set by the administrator.")
    account, name = await _target(session, cmd.mailbox, "lrw" if shared else "lr")
    largest = max((len(v) for _, v in cmd.entries if v is not None), default=0)
    if largest > limits.max_metadata_value_bytes:
        # RFC 5464 §4.3: the client learns the largest value it may set.
        raise IMAPError("Metadata value too large.", b"METADATA MAXSIZE %d" % limits.max_metadata_value_bytes)
    await account.set_metadata(name, session.user, list(cmd.entries), limits.max_metadata_entries)
    return Reply.ok("Setmetadata completed.")
