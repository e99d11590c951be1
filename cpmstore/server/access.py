"""Which folder a client's mailbox name means, and whether the user may use
it as a command asks (RFC 4314 §4 rights per command, RFC 2342 namespaces).

A user's own folders are named as stored (``INBOX``, ``Chats/alice``).
Another user's folders live under the other users' namespace:
``<prefix>/<owner>/<folder>`` (``Other Users/alice/Chats``), reached with the
rights the owner's ACL grants. Every handler that names a folder comes here
first; this is the one place rights are checked, the owner included.

A folder on which the user holds neither ``l`` nor ``r`` answers exactly as a
folder that does not exist (``NoSuchMailbox``), so probing learns nothing,
unless the user holds what the command needs (``i`` alone makes a drop box);
a folder the user can see but may not use as asked answers ``NO [NOPERM]``.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import Forbidden, InvalidMailboxName, NoSuchMailbox
from ..store.names import normalize_name

DELIMITER = "/"
_SEE = frozenset("lr")


@dataclass(frozen=True, slots=True)
class Folder:
    account: object     # the owner's store (store.account.Account)
    name: str           # the folder's name in the owner's store
    shown: str          # the name the client uses
    rights: frozenset[str]

    @property
    def owner(self) -> str:
        return self.account.username


def prefix(session) -> str:
    return session.context.config.server.other_users_prefix


def shown_name(session, account, name: str) -> str:
    """The name the session's user knows ``account``'s folder ``name`` by."""
    if account.username == session.user:
        return name
    return f"{prefix(session)}{DELIMITER}{account.username}{DELIMITER}{name}"


def split_other(session, name: str) -> tuple[str, str] | None:
    """(owner, folder) for a name in the other users' namespace, else None.
    The folder part is "" for the namespace node itself or an owner's node."""
    root = prefix(session)
    if name != root and not name.startswith(root + DELIMITER):
        return None
    owner, _, folder = name[len(root) + 1:].partition(DELIMITER)
    return owner, folder


async def locate(session, name: str):
    """(owner's account, folder name in it). NoSuchMailbox for a name in the
    other users' namespace that names no folder of an existing other user."""
    other = split_other(session, name)
    if other is None:
        return session.account, normalize_name(name)
    owner, folder = other
    if not owner or not folder or owner == session.user:
        raise NoSuchMailbox()
    account = await session.context.store.existing_account(owner)
    if account is None:
        raise NoSuchMailbox()
    return account, normalize_name(folder)


async def folder(session, name: str, need: str = "") -> Folder:
    """The folder ``name`` with the user's rights on it; ``need`` the rights
    the command requires (RFC 4314 §4)."""
    account, local = await locate(session, name)
    await account.load_access()
    rights = account.rights_on(local, session.user)
    if not rights or (not set(need) <= rights and not rights & _SEE):
        # DESIGN §6: without l or r the folder is as good as absent, unless
        # the user holds what this command needs (a drop box with only i).
        raise NoSuchMailbox()
    require(rights, need)
    return Folder(account, local, shown_name(session, account, local), rights)


def require(rights: frozenset[str], need: str) -> None:
    missing = set(need) - rights
    if missing:
        raise Forbidden(f"Permission denied (needs the {''.join(sorted(missing))} right).")


async def creatable(session, name: str):
    """(account, folder name) where CREATE (or RENAME's new name) may make
    ``name``: the nearest existing parent must grant ``k``. In one's own
    namespace a top-level folder needs no right; in another user's it cannot
    be made at all."""
    other = split_other(session, name)
    if other is not None and not (other[0] and other[1]):
        raise InvalidMailboxName("That name is reserved for other users' folders.")
    try:
        account, local = await locate(session, name)
    except NoSuchMailbox:
        # An unknown user answers as a known one who shares nothing.
        raise Forbidden("Permission denied (needs the k right on the parent).") from None
    await account.load_access()
    parent = local
    while DELIMITER in parent:
        parent = parent.rsplit(DELIMITER, 1)[0]
        rights = account.rights_on(parent, session.user)
        if rights is None:
            continue
        if "k" not in rights:
            raise Forbidden("Permission denied (needs the k right on the parent).")
        return account, local
    if account.username != session.user:
        raise Forbidden("Permission denied (needs the k right on the parent).")
    return account, local


async def visible_folders(session) -> dict[str, Folder]:
    """Every folder the user may see (``l`` right), own and shared, by shown name."""
    found: dict[str, Folder] = {}
    accounts = [session.account]
    for owner in session.context.store.sharing_with(session.user):
        account = await session.context.store.existing_account(owner)
        if account is not None:
            accounts.append(account)
    for account in accounts:
        await account.load_access()
        for local in account.folder_names():
            rights = account.rights_on(local, session.user)
            if rights and "l" in rights:
                shown = shown_name(session, account, local)
                found[shown] = Folder(account, local, shown, rights)
    return found
