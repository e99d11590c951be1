"""A session's NOTIFY subscription (RFC 5465): which mailboxes and events the
client asked to hear about, and the queue of what it has not heard yet.

Changes arrive from the user's change bus as they commit; nothing is polled.
Other users' folders the user may see come from their owners' buses; an
owner who starts sharing after the NOTIFY SET is joined when the store-wide
``Shares.bus`` says so.
For the selected mailbox the selected view already keeps what must be said
(EXISTS, EXPUNGE/VANISHED, FETCH FLAGS); NOTIFY only lets it be said at once.
For other mailboxes a message event becomes one STATUS per mailbox, and a
folder event a LIST. The queue is bounded: a session that falls too far
behind gets ``[NOTIFICATIONOVERFLOW]`` and NOTIFY is switched off, as
RFC 5465 §5.8 says, rather than holding memory without limit.
"""

from __future__ import annotations

from twisted.internet.defer import Deferred
from twisted.logger import Logger

from ..errors import BadCommand, IMAPError
from ..commands.mailbox import encode_name, list_line, status_line as mailbox_status_line
from ..imap import names as mailbox_names
from ..imap import response as wire
from ..imap.commands import Notify, NotifyGroup
from .access import shown_name
from ..store.changes import (
    AnnotationsChanged, FlagsChanged, MailboxChanged, MessagesAdded, MessagesExpunged, MetadataChanged, SharesChanged,
)

SUPPORTED = ("MessageNew", "MessageExpunge", "FlagChange", "AnnotationChange", "MailboxName", "SubscriptionChange",
             "MailboxMetadataChange", "ServerMetadataChange")
_MESSAGE_EVENTS = frozenset({"MessageNew", "MessageExpunge", "FlagChange", "AnnotationChange"})
_SELECTED = frozenset({"selected", "selected-delayed"})
# The RFC 5465 event each message change of the store is.
_EVENT_OF = {MessagesAdded: "MessageNew", MessagesExpunged: "MessageExpunge",
             FlagsChanged: "FlagChange", AnnotationsChanged: "AnnotationChange"}
# Mail delivery puts messages in INBOX, and the CPM network deposits
# conversations under Default (DESIGN §2): both count as inboxes.
INBOXES = ("INBOX", "Default")
MAX_PENDING = 1000
log = Logger()


def check_groups(groups: tuple[NotifyGroup, ...]) -> None:
    """The rules of RFC 5465 §5-§6 a NOTIFY SET must follow."""
    selected = [g for g in groups if g.filter in _SELECTED]
    if len(selected) > 1:
        raise BadCommand("Only one of selected and selected-delayed may be given.")
    for group in groups:
        events = set(group.events)
        if ("MessageNew" in events) != ("MessageExpunge" in events):
            raise BadCommand("MessageNew and MessageExpunge go together.")
        if events & {"FlagChange", "AnnotationChange"} and "MessageNew" not in events:
            raise BadCommand("FlagChange and AnnotationChange need MessageNew and MessageExpunge.")
        if group.fetch_atts and group.filter not in _SELECTED:
            raise BadCommand("Fetch attributes are allowed only for the selected mailbox.")
        if group.filter in _SELECTED and events - _MESSAGE_EVENTS:
            raise BadCommand("Only message events apply to the selected mailbox.")
    unsupported = {e for g in groups for e in g.events} - set(SUPPORTED)
    if unsupported:
        raise IMAPError("Unsupported event.", b"BADEVENT (" + " ".join(SUPPORTED).encode() + b")")


class Notifier:
    def __init__(self, session, command: Notify, names: dict[int, str], subscribed: set[str],
                 others: tuple = ()) -> None:
        self.session = session
        self.groups = [g for g in command.groups if g.filter not in _SELECTED]
        selected = [g for g in command.groups if g.filter in _SELECTED]
        self.selected = selected[0] if selected else None
        self.names = names            # mailbox id -> name, kept current from the bus
        self.subscribed = subscribed  # for the "subscribed" filter
        self._status: dict[str, None] = {}  # mailboxes owing a STATUS, in order
        self._lines: list[bytes] = []
        self._unsubscribes = [session.account.bus.subscribe(self._on_change)]
        # Other users' folders this user may see (RFC 4314 with RFC 5465): their
        # owners' buses, with each folder's name kept current from them.
        self.other_names: dict[tuple[str, int], str] = {}
        self._owners: set[str] = set()  # listened to, or being joined
        for account in others:
            self._listen_to(account)
        # An owner who shares a folder after this NOTIFY SET is joined then.
        shares = session.account.shares
        if shares is not None:
            self._unsubscribes.append(shares.bus.subscribe(self._on_shares_changed))
        self.overflowed = False
        self.closed = False

    def close(self) -> None:
        self.closed = True
        for unsubscribe in self._unsubscribes:
            unsubscribe()
        self._unsubscribes = []

    def _listen_to(self, account) -> None:
        self._owners.add(account.username)
        for name in account.folder_names():
            self.other_names[account.username, account.folder_id(name)] = name
        self._unsubscribes.append(account.bus.subscribe(
            lambda change, account=account: self._on_other_change(account, change)))

    def _on_shares_changed(self, change: SharesChanged) -> None:
        owner = change.owner
        if self.closed or owner == self.session.user or owner in self._owners:
            return  # its own bus tells of it (the "acl" MailboxChanged)
        if owner in self.session.context.store.sharing_with(self.session.user):
            self._owners.add(owner)
            Deferred.fromCoroutine(self._join(owner)).addErrback(
                lambda failure: log.failure("NOTIFY could not join {owner}", failure, owner=owner))

    async def _join(self, owner: str) -> None:
        """Listen to ``owner``, who now shares with this user, and tell of the
        folders that appeared: the ACL change that made them visible was
        published before this notifier listened (RFC 5465 §5.4)."""
        accounts = await shared_accounts(self.session, [owner])
        if self.closed or not accounts:
            self._owners.discard(owner)
            return
        account = accounts[0]
        self._listen_to(account)
        user = self.session.user
        for name in account.folder_names():
            if "l" not in account.rights_by_id(account.folder_id(name), user):
                continue
            shown = shown_name(self.session, account, name)
            if "MailboxName" in self.events_for(shown):
                self._lines.append(_list_line(b"", shown, self.session.utf8))
        if len(self._status) + len(self._lines) > MAX_PENDING:
            self._overflow()
        self.session.notification_ready()

    # -- what the client asked for ------------------------------------------------
    @property
    def selected_now(self) -> bool:
        """Changes to the selected mailbox may be announced between commands."""
        return self.selected is not None and bool(self.selected.events)

    @property
    def selected_expunge_now(self) -> bool:
        return self.selected_now and self.selected.filter == "selected"

    def events_for(self, name: str) -> frozenset[str]:
        for group in self.groups:
            if self._covers(group, name):
                return frozenset(group.events)
        return frozenset()

    def _covers(self, group: NotifyGroup, name: str) -> bool:
        which = group.filter
        if which == "personal":
            return True
        if which == "inboxes":
            return any(name == box or name.startswith(box + "/") for box in INBOXES)
        if which == "subscribed":
            return name in self.subscribed
        if which == "mailboxes":
            return name in group.mailboxes
        return any(name == root or name.startswith(root + "/") for root in group.mailboxes)  # subtree

    def status_targets(self) -> list[str]:
        """Mailboxes NOTIFY SET STATUS reports on: every covered one with message events."""
        selected_id = self.session.selected.mailbox.id if self.session.selected is not None else None
        return sorted(name for mid, name in self.names.items()
                      if mid != selected_id and self.events_for(name) & _MESSAGE_EVENTS)

    # -- changes ----------------------------------------------------------------------
    def _on_change(self, change) -> None:
        if self.overflowed:
            return
        if isinstance(change, MailboxChanged):
            self._mailbox_changed(change)
        elif isinstance(change, MetadataChanged):
            self._metadata_changed(change)
        else:
            selected = self.session.selected
            if selected is not None and change.mailbox_id == selected.mailbox.id:
                return  # the selected view tells of it
            name = self.names.get(change.mailbox_id)
            if name is None:
                return
            wanted = _EVENT_OF[type(change)]
            if wanted in self.events_for(name):
                self._status[name] = None
        if len(self._status) + len(self._lines) > MAX_PENDING:
            self._overflow()
        self.session.notification_ready()

    def _mailbox_changed(self, change: MailboxChanged) -> None:
        kind, name = change.kind, change.name
        if kind == "created":
            self.names[change.mailbox_id] = name
        elif kind == "deleted":
            self.names.pop(change.mailbox_id, None)
            self._status.pop(name, None)
        elif kind == "renamed":
            self.names[change.mailbox_id] = name
        elif kind == "subscribed":
            self.subscribed.add(name)
        elif kind == "unsubscribed":
            self.subscribed.discard(name)
        if kind in ("subscribed", "unsubscribed"):
            if "SubscriptionChange" in self.events_for(name):
                attrs = b"\\Subscribed" if kind == "subscribed" else b""
                self._lines.append(_list_line(attrs, name, self.session.utf8))
            return
        if "MailboxName" not in self.events_for(name) and not (
                change.old_name and "MailboxName" in self.events_for(change.old_name)):
            return
        if kind == "deleted":
            self._lines.append(_list_line(b"\\NonExistent", name, self.session.utf8))
        elif kind == "acl":
            # RFC 5465 §5.4: an ACL change may make a mailbox appear or vanish for this user.
            rights = self.session.account.rights_by_id(change.mailbox_id, self.session.user)
            self._lines.append(_list_line(b"" if "l" in rights else b"\\NonExistent", name, self.session.utf8))
        elif kind == "renamed":
            old = mailbox_names.encode(change.old_name or "", self.session.utf8, string=True)
            self._lines.append(_list_line(b"", name, self.session.utf8)[:-2] + b' ("OLDNAME" (' + old + b"))\r\n")
        else:
            self._lines.append(_list_line(b"", name, self.session.utf8))

    def _on_other_change(self, account, change) -> None:
        """A change in another user's store: told only where this user's rights
        let them see the folder, by the name they know it by."""
        if self.overflowed:
            return
        user = self.session.user
        key = (account.username, getattr(change, "mailbox_id", 0))
        if isinstance(change, MailboxChanged):
            if change.kind in ("subscribed", "unsubscribed"):
                return  # the owner's subscriptions, not this user's
            before = self.other_names.get(key)
            if change.kind == "deleted":
                self.other_names.pop(key, None)
            else:
                self.other_names[key] = change.name
            rights = account.rights_by_id(change.mailbox_id, user)
            shown = shown_name(self.session, account, change.name)
            if "MailboxName" not in self.events_for(shown):
                return
            if change.kind == "renamed" and "l" in rights:
                old_shown = shown_name(self.session, account, change.old_name or "")
                old = mailbox_names.encode(old_shown, self.session.utf8, string=True)
                self._lines.append(_list_line(b"", shown, self.session.utf8)[:-2] + b' ("OLDNAME" (' + old + b"))\r\n")
            elif change.kind == "acl" or ("l" in rights and change.kind != "deleted"):
                # RFC 5465 §5.4: a folder appears or vanishes for this user.
                self._lines.append(_list_line(b"" if "l" in rights else b"\\NonExistent", shown, self.session.utf8))
            elif change.kind == "deleted" and before is not None and "l" in rights:
                self._lines.append(_list_line(b"\\NonExistent", shown, self.session.utf8))
        elif isinstance(change, MetadataChanged):
            return  # another user's folder metadata: not announced (RFC 5465 §5.9 is about one's own)
        else:
            selected = self.session.selected
            if (selected is not None and selected.mailbox.account is account
                    and selected.mailbox.id == change.mailbox_id):
                return  # the selected view tells of it
            name = self.other_names.get(key)
            if name is None or "r" not in account.rights_by_id(change.mailbox_id, user):
                return
            shown = shown_name(self.session, account, name)
            wanted = _EVENT_OF[type(change)]
            if wanted in self.events_for(shown):
                self._status[shown] = None
        if len(self._status) + len(self._lines) > MAX_PENDING:
            self._overflow()
        self.session.notification_ready()

    def _metadata_changed(self, change: MetadataChanged) -> None:
        """RFC 5465 §5.9-§5.10, RFC 5464 §4.4.2: an unsolicited METADATA
        naming the entries that changed (not their values)."""
        if change.owner not in ("", self.session.user):
            return  # another user's /private entries
        if change.mailbox_id == 0:
            if not any("ServerMetadataChange" in g.events for g in self.groups):
                return
            name = ""
        else:
            name = self.names.get(change.mailbox_id)
            if name is None or "MailboxMetadataChange" not in self.events_for(name):
                return
        entries = b" ".join(wire.astring(entry.encode()) for entry in change.entries)
        self._lines.append(wire.untagged(b"METADATA " + encode_name(name, self.session.utf8) + b" " + entries))

    def _overflow(self) -> None:
        self.overflowed = True
        self._status.clear()
        self._lines.clear()
        self.close()

    # -- delivery -----------------------------------------------------------------------
    @property
    def pending(self) -> bool:
        return bool(self._status or self._lines or self.overflowed)

    @property
    def backlog(self) -> int:
        """Responses owed and not yet sent (the metrics' change backlog)."""
        return len(self._status) + len(self._lines)

    async def deliver(self) -> int:
        """Send what is owed; returns how many responses went out. Called
        between commands and before a tagged reply."""
        session = self.session
        if self.overflowed:
            session.send(wire.untagged_status(b"OK", "Too many notifications; NOTIFY is off.",
                                              b"NOTIFICATIONOVERFLOW"))
            session.notifier = None
            return 1
        lines, self._lines = self._lines, []
        for line in lines:
            session.send(line)
        sent = len(lines)
        while self._status:
            name = next(iter(self._status))
            del self._status[name]
            try:
                session.send(await status_line(session, name))
                sent += 1
            except IMAPError:
                pass  # gone, or no longer readable, since the change was queued
        return sent


async def shared_accounts(session, owners: list[str]) -> list:
    """The stores of ``owners`` (users who share with the session's user)
    that exist, with their folders and ACLs loaded: what NOTIFY listens to."""
    accounts = []
    for owner in owners:
        account = await session.context.store.existing_account(owner)
        if account is not None:
            await account.load_access()
            accounts.append(account)
    return accounts


def _list_line(attrs: bytes, name: str, utf8: bool) -> bytes:
    return list_line(b"LIST", [attrs] if attrs else [], name, utf8=utf8)


async def status_line(session, name: str) -> bytes:
    """The STATUS a NOTIFY client gets for a mailbox whose messages changed (RFC 5465 §5.2-5.4)."""
    items = ("MESSAGES", "UIDNEXT", "UNSEEN") + (("HIGHESTMODSEQ",) if session.condstore else ())
    return await mailbox_status_line(session, name, items)
