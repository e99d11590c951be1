"""The CPM system folders every user has (shared/cpm-formats.md §2.1).

Owns making sure, at each login, that the folders named in ``[cpm]
system_folders`` exist: ``Default``, where the network deposits conversation
objects, and ``RCSMessageStore``, the root of what the user keeps (INBOX the
store creates itself). A missing one is created again, even one the user
deleted, as Dovecot's ``auto = create`` does: clients and the network rely on
these roots being there. Creation goes through ``Account.create_mailbox``, so
it is as crash-safe and idempotent as a client's CREATE (RFC 3501 §6.3.3).
Never touches sockets or the disk itself; never deletes or renames.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..errors import MailboxExists


async def ensure_system_folders(account, names: Sequence[str]) -> list[str]:
    """Create those of ``names`` (stored spelling, see ``CpmConfig``) that
    ``account`` lacks; returns the names created, in order."""
    if not names:
        return []
    existing = {info.name for info in await account.list_mailboxes()}
    created = []
    for name in names:
        if name in existing:
            continue
        try:
            await account.create_mailbox(name)
        except MailboxExists:
            continue  # another login of the same user got there first
        created.append(name)
    return created
