"""SORT and UID SORT (RFC 5256 §3), DISPLAYFROM and DISPLAYTO (RFC 5957 §4),
and ESORT's ``RETURN (...)`` answered as ESEARCH (RFC 5267 §3.2).

The messages are chosen by SEARCH's own matcher (``search.matching``); their
sort values come only from what the index caches (header block, sent date,
INTERNALDATE, size), never from message files. Values are read and computed
one chunk at a time, the computing in a worker thread, so a large folder
does not hold the reactor. Ties are broken by sequence number, which REVERSE
never reverses (RFC 5256 §3).
"""

from __future__ import annotations

from typing import Callable, TypeVar

from twisted.internet.threads import deferToThreadPool

from ..imap import response as wire
from ..imap.commands import Sort
from ..mime.sortkeys import address_key, display_key, first_values, subject_key
from ..store.interfaces import MessageMeta
from .reply import Reply
from .search import answer_esearch, matching

_CHUNK = 2000
_HEADER_OF = {"SUBJECT": b"subject", "FROM": b"from", "TO": b"to", "CC": b"cc",
              "DISPLAYFROM": b"from", "DISPLAYTO": b"to"}

T = TypeVar("T")


async def message_values(session, mailbox, pairs: list[tuple[int, int]], compute: Callable[[MessageMeta], T],
                         headers: bool, kind: str | None = None) -> dict[int, T]:
    """UID -> ``compute(meta)`` for the messages of ``pairs`` still there.
    ``headers``: whether ``compute`` reads the cached header block. With
    ``kind``, values are kept in the folder's shared state (messages never
    change), so a second SORT or THREAD computes only new messages."""
    reactor = session.context.reactor
    pool = reactor.getThreadPool()
    known = mailbox.derived.setdefault(kind, {}) if kind is not None else {}
    values: dict[int, T] = {uid: known[uid] for _seq, uid in pairs if uid in known}
    missing = [uid for _seq, uid in pairs if uid not in values]
    for i in range(0, len(missing), _CHUNK):
        metas = await mailbox.meta(missing[i:i + _CHUNK], cached=headers)
        computed = await deferToThreadPool(reactor, pool, _compute_all, metas, compute)
        values.update(computed)
        if kind is not None:
            known.update((uid, value) for uid, value in computed.items() if uid in mailbox)
    return values


def _compute_all(metas: list[MessageMeta], compute: Callable[[MessageMeta], T]) -> dict[int, T]:
    return {meta.uid: compute(meta) for meta in metas}


def sent_time(meta: MessageMeta) -> float:
    """RFC 5256 §2.2: the Date header's instant, else INTERNALDATE."""
    return (meta.sent_date or meta.internaldate).timestamp()


def sort_value(key: str) -> Callable[[MessageMeta], object]:
    """A function giving one message's value for the sort criterion ``key``."""
    if key == "ARRIVAL":
        return lambda meta: meta.internaldate.timestamp()
    if key == "DATE":
        return sent_time
    if key == "SIZE":
        return lambda meta: meta.size
    header = _HEADER_OF[key]
    names = frozenset({header})
    if key == "SUBJECT":
        return lambda meta: subject_key(first_values(meta.header, names).get(header)).text
    key_of = display_key if key.startswith("DISPLAY") else address_key
    return lambda meta: key_of(first_values(meta.header, names).get(header))


def sort_pairs(pairs: list[tuple[int, int]], values: dict[int, tuple],
               reverse: tuple[bool, ...]) -> list[tuple[int, int]]:
    """``pairs`` (in sequence order, the last tie-break) that have values,
    ordered by them: stable sorts from the last criterion to the first, so
    REVERSE turns only its own criterion (RFC 5256 §3)."""
    ordered = [pair for pair in pairs if pair[1] in values]
    for position in reversed(range(len(reverse))):
        ordered.sort(key=lambda pair: values[pair[1]][position], reverse=reverse[position])
    return ordered


async def sort(session, cmd: Sort) -> Reply:
    view = session.selected
    pairs, uses_modseq = await matching(session, view, cmd.search, cmd.charset, view.saved)
    keys = tuple(criterion.key for criterion in cmd.criteria)
    # One value per criterion, each kept per folder, so any combination reuses them.
    per_key = [await message_values(session, view.mailbox, pairs, sort_value(key),
                                    key in _HEADER_OF, kind="sort:" + key) for key in dict.fromkeys(keys)]
    columns = dict(zip(dict.fromkeys(keys), per_key))
    values = {uid: tuple(columns[key][uid] for key in keys)
              for _seq, uid in pairs if all(uid in columns[key] for key in keys)}
    reactor = session.context.reactor
    ordered = await deferToThreadPool(reactor, reactor.getThreadPool(), sort_pairs, pairs, values,
                                      tuple(criterion.reverse for criterion in cmd.criteria))
    if cmd.return_options is not None:
        answer_esearch(session, cmd, view, ordered, uses_modseq)
        return Reply.ok("Sort completed.")
    line = b" ".join([b"SORT"] + [b"%d" % (uid if cmd.uid else seq) for seq, uid in ordered])
    if uses_modseq and ordered:
        # RFC 7162 §3.1.5 (as for SEARCH): the highest MODSEQ of the messages found.
        line += b" (MODSEQ %d)" % max(view.mailbox.modseq_of(uid) for _seq, uid in ordered)
    session.send(wire.untagged(line))
    return Reply.ok("Sort completed.")
