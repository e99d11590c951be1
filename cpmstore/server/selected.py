"""A session's view of its selected mailbox (RFC 3501 §5.2, §7.3.1, §7.4.1).

The mailbox state itself (UIDs, flags, MODSEQs) is shared by every session
(``store.interfaces.IMailbox``). What belongs to one session is kept here:
the sequence-number view, which lags behind the shared state until the
session may announce an expunge; the changes it has heard of but not yet
announced; which messages are \\Recent for it; and the UIDs its last
``SEARCH RETURN (SAVE)`` kept for ``$`` (RFC 5182 §2.1), which a new view
(SELECT, EXAMINE) starts without and CLOSE or UNSELECT drops with the view.
Sequence numbers map to UIDs by index and UIDs to sequence numbers by bisect,
so nothing here walks a sequence set number by number.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left, bisect_right
from typing import Iterator, Sequence

from ..errors import BadCommand
from ..imap import response as wire
from ..imap.seqset import SequenceSet, runs
from ..store.changes import AnnotationsChanged, FlagsChanged, MailboxChanged, MessagesAdded, MessagesExpunged

SYSTEM_FLAGS = ("\\Answered", "\\Flagged", "\\Deleted", "\\Seen", "\\Draft")
# OMA CPM flag-extension (cpm-formats.md §4): listed so clients know it is kept.
CPM_FLAGS = ("\\read-report-sent",)


class SelectedView:
    def __init__(self, session, mailbox, readonly: bool, rights: frozenset[str] = frozenset("lrswipkxtea")) -> None:
        self.session = session
        self.mailbox = mailbox
        self.readonly = readonly
        self.rights = rights  # the user's ACL rights on the folder (RFC 4314), kept current
        self.uids = array("L", mailbox.uids)
        # EXAMINE shows \\Recent but leaves it for the next SELECT (RFC 3501 §6.3.2).
        claim = mailbox.peek_recent if readonly else mailbox.claim_recent
        self.recent: set[int] = claim(self.uids)
        self.keywords = self._keywords_in_use()
        self._encoded: dict[frozenset, bytes] = {}
        self._added: list[int] = []
        self._expunged: set[int] = set()
        self._flags: dict[int, tuple[frozenset, int]] = {}
        self.announced: list[int] = []
        self.saved = SequenceSet(())  # "$": UID ranges, RFC 5182 §2.1
        self.gone = False  # the folder was deleted under this session  # UIDs told by EXISTS, for NOTIFY's MessageNew fetch
        # The owner's bus: a folder shared by another user changes live too.
        self._unsubscribe = mailbox.account.bus.subscribe(self._on_change)

    def close(self) -> None:
        self._unsubscribe()
        # The closure holds this view's bound method: dropping it breaks the
        # cycle, so the view is freed now, not at the next full collection
        # (a busy server piled up hundreds of closed views between them).
        self._unsubscribe = _closed

    @property
    def backlog(self) -> int:
        """Changes heard and not yet announced (the metrics' change backlog)."""
        return len(self._added) + len(self._expunged) + len(self._flags)

    # -- numbers -------------------------------------------------------------
    @property
    def exists(self) -> int:
        return len(self.uids)

    def seq_of(self, uid: int) -> int | None:
        i = bisect_left(self.uids, uid)
        if i < len(self.uids) and self.uids[i] == uid:
            return i + 1
        return None

    def substitute(self, seqset: SequenceSet) -> SequenceSet:
        """``seqset`` itself, or for ``$`` the saved UID ranges."""
        return self.saved if seqset.saved else seqset

    def save(self, uids: list[int]) -> None:
        """Keep ascending ``uids`` as ``$``. Expunged ones need no removal: UIDs
        are never reused, and ``resolve`` names only messages still here."""
        self.saved = SequenceSet(tuple(runs(uids)))

    def resolve(self, seqset: SequenceSet, uid: bool) -> list[tuple[int, int]]:
        """(seq, uid) pairs that ``seqset`` names, ascending. A UID set names
        only UIDs that exist; a sequence set beyond EXISTS is a client error.
        ``$`` is a UID set in any command (RFC 5182 §2.1), so an empty or
        stale one names nothing rather than failing, and a message expunged
        meanwhile, even one not yet announced, has left it."""
        if seqset.saved:
            return self.present(self.resolve(self.saved, uid=True))
        result: list[tuple[int, int]] = []
        uids = self.uids
        if uid:
            largest = uids[-1] if uids else 0
            for lo, hi in seqset.ranges(largest):
                i, j = bisect_left(uids, lo), bisect_right(uids, hi)
                result.extend(zip(range(i + 1, j + 1), uids[i:j]))
            return result
        largest = len(uids)
        if not largest:
            # Even "1:*" names no message of an empty mailbox; Dovecot says BAD too.
            raise BadCommand("Invalid messageset: the mailbox is empty.")
        for lo, hi in seqset.ranges(largest):
            if hi > largest:
                raise BadCommand("Invalid messageset: sequence number beyond the last message.")
            result.extend(zip(range(lo, hi + 1), uids[lo - 1:hi]))
        return result

    def present(self, pairs: list[tuple[int, int]]) -> list[tuple[int, int]]:
        """Drop messages expunged by another session but still in this view."""
        if not self._expunged:
            return pairs
        gone = self._expunged
        return [p for p in pairs if p[1] not in gone]

    # -- flags -----------------------------------------------------------------
    def encoded_flags(self, uid: int, flags: frozenset[str] | None = None) -> bytes:
        """``(\\Seen ...)`` for ``uid`` (whose ``flags`` the caller may know
        already). Flag sets are interned by the store, so the spelling of each
        distinct set is computed once per view."""
        if flags is None:
            flags = self.mailbox.flags_of(uid)
        encoded = self._encoded.get(flags)
        if encoded is None:
            encoded = self._encoded[flags] = wire.flag_list(sorted(flags))
        if uid in self.recent:
            return _with_recent(encoded)
        return encoded

    def encoded_flags_many(self, uids: Sequence[int], flags: Sequence[frozenset[str]]) -> list[bytes]:
        """``(\\Seen ...)`` for each of ``uids``, whose sets ``flags`` (in
        order) the caller read from the folder. Flag sets are interned by the
        store, so each distinct set is spelled once per view, and then a
        message costs one dict lookup, not a call."""
        plain = self._encoded
        distinct = set(flags)
        for each in distinct.difference(plain):
            plain[each] = wire.flag_list(sorted(each))
        recent = self.recent
        if not recent:
            return list(map(plain.__getitem__, flags))
        marked = {each: _with_recent(plain[each]) for each in distinct}
        return [marked[f] if uid in recent else plain[f] for uid, f in zip(uids, flags)]

    def highest_modseq(self) -> int:
        return self.mailbox.highest_modseq

    def flags_update(self, seq: int, uid: int, with_uid: bool = False) -> bytes:
        """``* n FETCH (...)`` announcing a message's flags: with UID once
        QRESYNC is on (RFC 7162 §3.2.4) and MODSEQ once CONDSTORE is (§3.1.4)."""
        items = [b"FLAGS " + self.encoded_flags(uid)]
        if with_uid or self.session.qresync:
            items.insert(0, b"UID %d" % uid)
        if self.session.condstore:
            items.append(b"MODSEQ (%d)" % self.mailbox.modseq_of(uid))
        return b"* %d FETCH (%s)\r\n" % (seq, b" ".join(items))

    def _keywords_in_use(self) -> set[str]:
        # Called while ``uids`` is still the folder's own array, so the flag
        # column is exactly this view's messages; its sets are interned (few
        # distinct objects, hash cached), so set() collapses it in C.
        return {x for f in set(self.mailbox.columns[0]) for x in f if not x.startswith("\\")}

    def flags_response(self) -> list[bytes]:
        flags = list(SYSTEM_FLAGS) + list(CPM_FLAGS) + sorted(self.keywords)
        permanent = [flag for flag in flags + ["\\*"] if self.may_store(flag)]
        lines = [wire.untagged(b"FLAGS " + wire.flag_list(flags))]
        if self.readonly or not permanent:
            lines.append(wire.untagged_status(b"OK", "No permanent flags permitted.", b"PERMANENTFLAGS ()"))
        else:
            lines.append(wire.untagged_status(b"OK", "Flags permitted.", b"PERMANENTFLAGS " + wire.flag_list(permanent)))
        return lines

    def may_store(self, flag: str) -> bool:
        """RFC 4314 §4: \\Seen needs s, \\Deleted t, every other flag w."""
        need = {"\\Seen": "s", "\\Deleted": "t"}.get(flag, "w")
        return need in self.rights

    def note_keywords(self, flags) -> list[bytes]:
        """New keywords extend FLAGS; announce the new list (as Dovecot does)."""
        new = {f for f in flags if not f.startswith("\\")} - self.keywords
        if not new:
            return []
        self.keywords |= new
        return self.flags_response()

    # -- changes ---------------------------------------------------------------
    def _on_change(self, change) -> None:
        if getattr(change, "mailbox_id", None) != self.mailbox.id:
            return
        if isinstance(change, MessagesAdded):
            self._added.extend(change.uids)
        elif isinstance(change, MessagesExpunged):
            self._expunged.update(change.uids)
        elif isinstance(change, (FlagsChanged, AnnotationsChanged)):
            # An annotation change is told as a flag change would be: the new
            # MODSEQ (RFC 7162) is what a syncing client needs to hear.
            if change.origin is self.session:
                return  # the STORE that made it answers for itself
            for uid, flags, modseq in change.changes:
                self._flags[uid] = (flags, modseq)
        elif isinstance(change, MailboxChanged):
            if change.kind == "acl":
                # Rights are checked per command from here on (RFC 4314 §4).
                self.rights = self.mailbox.account.rights_by_id(self.mailbox.id, self.session.user)
                return
            if change.kind != "deleted":
                return
            self.gone = True
        self.session.on_selected_change()

    def pending_responses(self, allow_expunge: bool) -> Iterator[bytes]:
        if self.gone:
            # Nothing this session holds can be trusted any more: sequence
            # numbers, UIDs, flags. Dovecot ends the session the same way.
            self.session.mailbox_vanished()
            return
        if allow_expunge and self._expunged:
            gone = self._expunged
            self._expunged = set()
            added_gone = gone.intersection(self._added)
            if added_gone:
                self._added = [u for u in self._added if u not in added_gone]
            seqs = [s for s in (self.seq_of(u) for u in sorted(gone)) if s is not None]
            if self.session.qresync:
                # RFC 7162 §3.2.10: UIDs, not sequence numbers, once QRESYNC is on.
                if seqs:
                    yield wire.untagged(b"VANISHED " + wire.number_set(self.uids[s - 1] for s in seqs))
            else:
                # Highest first: each EXPUNGE renumbers the messages after it.
                for seq in reversed(seqs):
                    yield wire.untagged(b"%d EXPUNGE" % seq)
            if seqs:
                self.uids = _without_seqs(self.uids, seqs)
                recent_before = len(self.recent)
                self.recent.difference_update(gone)
                if len(self.recent) != recent_before and not self._added:
                    # The RECENT count changed (RFC 3501 §7.3.2), as Dovecot says too;
                    # when new messages follow, their EXISTS brings a RECENT anyway.
                    yield wire.untagged(b"%d RECENT" % len(self.recent))
            for uid in gone:
                self._flags.pop(uid, None)
        if self._added:
            added = sorted(set(self._added))
            self._added = []
            last = self.uids[-1] if self.uids else 0
            fresh = [u for u in added if u > last and u not in self._expunged]
            if fresh:
                self.uids.extend(fresh)
                self.announced.extend(fresh)
                claim = self.mailbox.peek_recent if self.readonly else self.mailbox.claim_recent
                self.recent |= claim(fresh)
                flags_of = self.mailbox.flags_of
                new_flags: set[str] = set()
                for uid in fresh:
                    try:
                        new_flags.update(flags_of(uid))
                    except KeyError:
                        pass
                yield from self.note_keywords(new_flags)
                yield wire.untagged(b"%d EXISTS" % len(self.uids))
                yield wire.untagged(b"%d RECENT" % len(self.recent))
        if self._flags:
            changed, self._flags = self._flags, {}
            lines = []
            new_flags = set()
            for uid, (flags, _modseq) in changed.items():
                seq = self.seq_of(uid)
                if seq is None or uid in self._expunged:
                    continue
                new_flags.update(flags)
                lines.append((seq, uid))
            yield from self.note_keywords(new_flags)
            for seq, uid in sorted(lines):
                yield self.flags_update(seq, uid)


def _closed() -> None:
    """The unsubscribe of a view already closed."""


def _without_seqs(uids: array, seqs: list[int]) -> array:
    """A new array of ``uids`` without the messages at sequence numbers
    ``seqs`` (ascending): slices copied in C, not a test per message."""
    kept = uids[:0]
    start = 0
    for seq in seqs:
        kept.extend(uids[start:seq - 1])
        start = seq
    kept.extend(uids[start:])
    return kept


def _with_recent(encoded: bytes) -> bytes:
    """A spelled flag list with \\Recent added at its end."""
    return encoded[:-1] + (b"\\Recent)" if encoded == b"()" else b" \\Recent)")
