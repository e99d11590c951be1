"""Folder commands: CREATE, DELETE, RENAME, SUBSCRIBE, UNSUBSCRIBE, LIST, LSUB,
STATUS (RFC 3501 §6.3.3-§6.3.10; \\HasChildren from RFC 3348; STATUS
HIGHESTMODSEQ from RFC 7162 §3.1.10)."""

from __future__ import annotations

import re

from ..errors import BadCommand
from ..imap import mutf7
from ..imap import response as wire
from ..imap.commands import Create, Delete, List, Rename, Status, Subscribe
from .reply import Reply

DELIMITER = "/"


def _name(name: str) -> bytes:
    return wire.astring(mutf7.encode(name))


async def create(session, cmd: Create) -> Reply:
    # RFC 3501 §6.3.3: a trailing delimiter only says the client wants children.
    name = cmd.mailbox.rstrip(DELIMITER) if cmd.mailbox != DELIMITER else cmd.mailbox
    await session.account.create_mailbox(name)
    return Reply.ok("Create completed.")


async def delete(session, cmd: Delete) -> Reply:
    await session.account.delete_mailbox(cmd.mailbox)
    return Reply.ok("Delete completed.")


async def rename(session, cmd: Rename) -> Reply:
    await session.account.rename_mailbox(cmd.old, cmd.new)
    return Reply.ok("Rename completed.")


async def subscribe(session, cmd: Subscribe) -> Reply:
    await session.account.set_subscribed(cmd.mailbox, cmd.subscribe)
    return Reply.ok("Subscribe completed." if cmd.subscribe else "Unsubscribe completed.")


def pattern_regex(reference: str, pattern: str) -> re.Pattern:
    """LIST wildcards (RFC 3501 §6.3.8): ``*`` matches anything, ``%`` anything
    but the delimiter. INBOX is matched case-insensitively."""
    full = reference + pattern
    if full[:5].upper() == "INBOX" and (len(full) == 5 or full[5] in DELIMITER + "*%"):
        full = "INBOX" + full[5:]
    parts = []
    for ch in full:
        if ch == "*":
            parts.append(".*")
        elif ch == "%":
            parts.append("[^/]*")
        else:
            parts.append(re.escape(ch))
    return re.compile("".join(parts) + r"\Z", re.DOTALL)


def _has_children(names: list[str]) -> set[str]:
    parents = set()
    for name in names:
        while DELIMITER in name:
            name = name.rsplit(DELIMITER, 1)[0]
            parents.add(name)
    return parents


async def list_(session, cmd: List) -> Reply:
    verb = b"LSUB" if cmd.lsub else b"LIST"
    if not cmd.lsub and cmd.pattern == "":
        # The hierarchy delimiter and root of the reference (RFC 3501 §6.3.8).
        session.send(wire.untagged(b'LIST (\\Noselect) "/" ""'))
        return Reply.ok("List completed.")
    matcher = pattern_regex(cmd.reference, cmd.pattern)
    mailboxes = await session.account.list_mailboxes()
    existing = sorted(m.name for m in mailboxes)
    with_children = _has_children(existing)
    if cmd.lsub:
        names = sorted(await session.account.subscriptions())
        exists = set(existing)
        for name in names:
            if matcher.match(name):
                attrs = b"" if name in exists else b"\\Noselect"
                session.send(wire.untagged(verb + b" (" + attrs + b') "/" ' + _name(name)))
        return Reply.ok("Lsub completed.")
    for name in existing:
        if matcher.match(name):
            attrs = b"\\HasChildren" if name in with_children else b"\\HasNoChildren"
            session.send(wire.untagged(verb + b" (" + attrs + b') "/" ' + _name(name)))
    return Reply.ok("List completed.")



async def status(session, cmd: Status) -> Reply:
    info = await session.account.status(cmd.mailbox)
    values = {
        "MESSAGES": info.messages,
        "RECENT": info.recent,
        "UIDNEXT": info.uid_next,
        "UIDVALIDITY": info.uid_validity,
        "UNSEEN": info.unseen,
        "HIGHESTMODSEQ": info.highest_modseq,  # RFC 7162 §3.1.10
    }
    if "HIGHESTMODSEQ" in cmd.items:
        session.enable_condstore()
    items = []
    for item in cmd.items:
        if item not in values:
            raise BadCommand(f"Invalid status item {item}.")
        items.append(b"%s %d" % (item.encode(), values[item]))
    session.send(wire.untagged(b"STATUS " + _name(cmd.mailbox) + b" (" + b" ".join(items) + b")"))
    return Reply.ok("Status completed.")
