"""Folder commands: CREATE, DELETE, RENAME, SUBSCRIBE, UNSUBSCRIBE, LIST, LSUB,
STATUS (RFC 3501 §6.3.3-§6.3.10; \\HasChildren from RFC 3348; LIST-EXTENDED,
RFC 5258; LIST-STATUS, RFC 5819; STATUS HIGHESTMODSEQ, RFC 7162 §3.1.10)."""

from __future__ import annotations

import re

from ..errors import BadCommand, IMAPError
from ..imap import names
from ..imap import response as wire
from ..imap.commands import Create, Delete, List, Rename, Status, Subscribe
from ..server import access
from .reply import Reply

DELIMITER = "/"
# RFC 6154 §2 (CREATE-SPECIAL-USE accepts exactly these).
SPECIAL_USES = {attr.lower(): attr for attr in
                ("\\All", "\\Archive", "\\Drafts", "\\Flagged", "\\Junk", "\\Sent", "\\Trash")}


def list_line(verb: bytes, attrs: list[bytes], name: str, extra: bytes = b"", utf8: bool = False) -> bytes:
    """``* LIST (attrs) "/" name [extended data]`` (RFC 3501 §7.2.2, RFC 5258 §3); LSUB alike."""
    return wire.untagged(verb + b" (" + b" ".join(attrs) + b') "/" ' + encode_name(name, utf8) + extra)


def encode_name(name: str, utf8: bool = False) -> bytes:
    """A mailbox name in a response: every response goes through here, with
    ``utf8=session.utf8`` (modified UTF-7 unless UTF8=ACCEPT is enabled, RFC 6855 §3)."""
    return names.encode(name, utf8)


async def create(session, cmd: Create) -> Reply:
    # RFC 3501 §6.3.3: a trailing delimiter only says the client wants children.
    name = cmd.mailbox.rstrip(DELIMITER) if cmd.mailbox != DELIMITER else cmd.mailbox
    use = []
    for attr in cmd.use:
        canonical = SPECIAL_USES.get(attr.lower())
        if canonical is None:
            raise IMAPError(f"Unknown special-use attribute {attr}.", b"USEATTR")  # RFC 6154 §3
        use.append(canonical)
    # RFC 4314 §4: k on the parent.
    account, local = await access.creatable(session, name)
    await account.create_mailbox(local, " ".join(dict.fromkeys(use)) or None)
    return Reply.ok("Create completed.")


async def delete(session, cmd: Delete) -> Reply:
    folder = await access.folder(session, cmd.mailbox, "x")  # RFC 4314 §4
    await folder.account.delete_mailbox(folder.name)
    return Reply.ok("Delete completed.")


async def rename(session, cmd: Rename) -> Reply:
    # RFC 4314 §4: x on the folder, k on the new parent.
    source = await access.folder(session, cmd.old, "x")
    account, local = await access.creatable(session, cmd.new)
    if account is not source.account:
        raise IMAPError("Renaming across users is not supported.", b"CANNOT")
    await source.account.rename_mailbox(source.name, local)
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


async def list_(session, cmd: List) -> Reply:
    """LIST and LSUB, with LIST-EXTENDED selection and return options (RFC 5258)
    and RETURN (STATUS ...) (RFC 5819): a device finds every folder and its
    sync state (HIGHESTMODSEQ) in one round trip."""
    account = session.account
    if cmd.lsub:
        return await _lsub(session, cmd)
    if all(p == "" for p in cmd.patterns):
        # The hierarchy delimiter and the root of the reference (RFC 3501 §6.3.8:
        # "#news.comp.mail.misc" answers "#news.").
        root = cmd.reference.split(DELIMITER, 1)[0] + DELIMITER if DELIMITER in cmd.reference else ""
        session.send(wire.untagged(b'LIST (\\Noselect) "/" ' + (encode_name(root, session.utf8) if root else b'""')))
        return Reply.ok("List completed.")
    matchers = [pattern_regex(cmd.reference, p) for p in cmd.patterns if p != ""]

    def matches(name: str) -> bool:
        return any(m.match(name) for m in matchers)

    if cmd.status_items:
        for item in cmd.status_items:
            if item not in _STATUS_ITEMS:
                raise BadCommand(f"Invalid status item {item}.")
        if "HIGHESTMODSEQ" in cmd.status_items:
            session.enable_condstore()
    # RFC 4314 §4: only folders with the l right, own and other users' alike.
    visible = await access.visible_folders(session)
    exists = set(visible)
    with_children = _parents_of(exists)
    wants_subscribed = "SUBSCRIBED" in cmd.select_options or "SUBSCRIBED" in cmd.return_options
    subscribed = set(await account.subscriptions()) if wants_subscribed else set()
    out: list[tuple[str, list[bytes], bytes]] = []  # name, attributes, extended data
    if "SUBSCRIBED" in cmd.select_options:
        names = sorted(subscribed | (_parents_of(subscribed) if "RECURSIVEMATCH" in cmd.select_options else set()))
        for name in names:
            if not matches(name):
                continue
            if name in subscribed:
                attrs = [b"\\Subscribed"] + ([] if name in exists else [b"\\NonExistent"])
                out.append((name, attrs + _children(name, exists, with_children), b""))
            else:
                # RFC 5258 §3.5: a parent listed only because a child is subscribed.
                attrs = _children(name, exists, with_children) if name in exists else [b"\\NonExistent"]
                out.append((name, attrs, b' ("CHILDINFO" ("SUBSCRIBED"))'))
    else:
        # A parent that is not a folder itself (its folder was deleted, or never
        # created) is listed as \\Noselect so clients can walk the tree (RFC 3501 §6.3.8).
        for name in sorted(exists | with_children):
            if matches(name):
                if name not in exists:
                    out.append((name, [b"\\Noselect", b"\\HasChildren"], b""))
                    continue
                attrs = [b"\\Subscribed"] if name in subscribed else []
                out.append((name, attrs + _children(name, exists, with_children), b""))
    if "SPECIAL-USE" in cmd.select_options:
        out = [entry for entry in out if entry[0] in exists and _special(visible[entry[0]])]  # RFC 6154 §4
    for name, attrs, extra in out:
        if name in exists:
            attrs = attrs + _special(visible[name])  # RFC 6154 §2: always, as Dovecot does
        session.send(list_line(b"LIST", attrs, name, extra, session.utf8))
        if cmd.status_items and name in exists and "r" in visible[name].rights:
            session.send(await status_line(session, name, cmd.status_items))
    return Reply.ok("List completed.")


def _special(folder) -> list[bytes]:
    use = folder.account.special_use(folder.name)
    return [attr.encode() for attr in use.split()] if use else []


def _children(name: str, exists: set[str], with_children: set[str]) -> list[bytes]:
    if name not in exists:
        return []
    return [b"\\HasChildren" if name in with_children else b"\\HasNoChildren"]


def _parents_of(names: set[str]) -> set[str]:
    parents = set()
    for name in names:
        while DELIMITER in name:
            name = name.rsplit(DELIMITER, 1)[0]
            parents.add(name)
    return parents


async def _lsub(session, cmd: List) -> Reply:
    matcher = pattern_regex(cmd.reference, cmd.pattern)
    exists = set(await access.visible_folders(session))
    subscribed = set(await session.account.subscriptions())
    # RFC 3501 §6.3.9: with "%", a parent of a subscribed name is listed as
    # \Noselect even when it is not subscribed itself.
    hidden = {name for name in subscribed if not matcher.match(name)}
    for name in sorted(subscribed | _parents_of(hidden)):
        if matcher.match(name):
            attrs = [] if name in subscribed and name in exists else [b"\\Noselect"]
            session.send(list_line(b"LSUB", attrs, name, utf8=session.utf8))
    return Reply.ok("Lsub completed.")


_STATUS_ITEMS = frozenset({"MESSAGES", "RECENT", "UIDNEXT", "UIDVALIDITY", "UNSEEN", "HIGHESTMODSEQ", "SIZE"})


async def status_line(session, name: str, items: tuple[str, ...]) -> bytes:
    """``* STATUS name (...)`` for STATUS, LIST-STATUS and NOTIFY."""
    folder = await access.folder(session, name, "r")  # RFC 4314 §4
    info = await folder.account.status(folder.name)
    values = {
        "MESSAGES": info.messages,
        "RECENT": info.recent,
        "UIDNEXT": info.uid_next,
        "UIDVALIDITY": info.uid_validity,
        "UNSEEN": info.unseen,
        "HIGHESTMODSEQ": info.highest_modseq,  # RFC 7162 §3.1.10
        "SIZE": info.size,  # RFC 8438
    }
    pairs = [b"%s %d" % (item.encode(), values[item]) for item in items]
    return wire.untagged(b"STATUS " + encode_name(name, session.utf8) + b" (" + b" ".join(pairs) + b")")


async def status(session, cmd: Status) -> Reply:
    for item in cmd.items:
        if item not in _STATUS_ITEMS:
            raise BadCommand(f"Invalid status item {item}.")
    if "HIGHESTMODSEQ" in cmd.items:
        session.enable_condstore()
    session.send(await status_line(session, cmd.mailbox, cmd.items))
    return Reply.ok("Status completed.")
