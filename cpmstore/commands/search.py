"""SEARCH and UID SEARCH (RFC 3501 §6.4.4, §7.2.5; CHARSET UTF-8), text
compared with i;unicode-casemap (RFC 5255 §4.1, I18NLEVEL=1), UTF-8 without
CHARSET once UTF8=ACCEPT is enabled (RFC 6855 §3), with
RETURN options and the ESEARCH response (RFC 4731 §3, MODSEQ in it per
RFC 4731 §3.2 and RFC 7162 §3.1.5), SAVE and ``$`` (RFC 5182 §2), the
OLDER / YOUNGER keys (RFC 5032 §3) and SAVEDBEFORE / SAVEDON / SAVEDSINCE
(RFC 8514 §4.3).

Keys are evaluated in order of cost: flags, sequence numbers and UIDs from
memory; CPM identity headers (Conversation-ID, IMDN-Message-ID, ...) by one
index query each; BODY and TEXT by one scan of the text index
(``store/texts.py``) over the messages the cheaper keys left, which reads a
message file only for a message the text index has no row for yet; other
headers, sizes and dates from the index cache.
"""

from __future__ import annotations

from datetime import date

from ..errors import BadCommand, IMAPError
from ..imap import response as wire
from ..imap.commands import Search
from ..imap.searchkeys import SearchKey
from ..imap.seqset import RangeSet, SequenceSet
from ..mime.headers import header_values
from ..mime.sortkeys import casemap
from .reply import Reply

CHARSETS = ("US-ASCII", "UTF-8")
_CHUNK = 2000

# How much of a message a key needs: 0 memory, 1 index row, 2 cached header,
# 3 the text index (0 once its scan is done).
_COST = {"HEADER": 2, "SENTBEFORE": 2, "SENTON": 2, "SENTSINCE": 2, "BODY": 3, "TEXT": 3,
         "BEFORE": 1, "ON": 1, "SINCE": 1, "LARGER": 1, "SMALLER": 1, "OLDER": 1, "YOUNGER": 1,
         "SAVEDBEFORE": 1, "SAVEDON": 1, "SAVEDSINCE": 1}
# RFC 5182 §2.4: with only MIN and/or MAX asked, only those messages are
# "returned" (saved as $, counted for MODSEQ); ALL or COUNT return them all.
_EVERY = frozenset({"ALL", "COUNT"})


class _Context:
    def __init__(self, view, charset: str, now: int) -> None:
        self.view = view
        self.charset = charset
        self.now = now  # whole seconds, once per command, for OLDER and YOUNGER
        self.header_sets: dict[int, set[int]] = {}
        self.text_sets: dict[int, set[int]] = {}  # BODY and TEXT keys' hits, by id(key)
        self.ranges: dict[int, RangeSet] = {}

    def text(self, raw: bytes) -> str:
        """A search string as the i;unicode-casemap key its matches contain."""
        return casemap(raw.decode("utf-8" if self.charset == "UTF-8" else "ascii", "replace"))


def _walk(key: SearchKey):
    yield key
    if key.op in ("AND", "OR", "NOT"):
        for child in key.args:
            yield from _walk(child)


def _cost(key: SearchKey, ctx: _Context) -> int:
    if key.op in ("AND", "OR", "NOT"):
        return max((_cost(k, ctx) for k in key.args), default=0)
    if key.op == "HEADER" and id(key) in ctx.header_sets:
        return 0
    if key.op in ("BODY", "TEXT") and id(key) in ctx.text_sets:
        return 0
    return _COST.get(key.op, 0)


async def search(session, cmd: Search) -> Reply:
    if session.utf8 and cmd.charset is not None:
        # RFC 6855 §3: after ENABLE UTF8=ACCEPT the strings are UTF-8; a
        # CHARSET would be a second, conflicting label.
        raise BadCommand("SEARCH CHARSET is not allowed after ENABLE UTF8=ACCEPT.")
    view = session.selected
    options = cmd.return_options
    if options is None or "SAVE" not in options:
        return await _search(session, cmd, view, view.saved)
    saved = view.saved  # what "$" in this very command still means
    # RFC 5182 §2.1: a SEARCH with SAVE that fails with NO leaves "$" empty;
    # one that fails with BAD leaves it as it was.
    view.saved = SequenceSet(())
    try:
        return await _search(session, cmd, view, saved)
    except IMAPError as exc:
        if exc.status == b"BAD":
            view.saved = saved
        raise


async def matching(session, view, criteria: SearchKey, charset: str | None,
                   saved: SequenceSet) -> tuple[list[tuple[int, int]], bool]:
    """The (sequence number, UID) pairs of ``view`` that match ``criteria``, in
    mailbox order, and whether a MODSEQ key was used (CONDSTORE is then on).
    SEARCH, SORT and THREAD (RFC 5256 §3) all select their messages here;
    ``saved`` is what ``$`` stands for (RFC 5182)."""
    charset = charset or ("UTF-8" if session.utf8 else "US-ASCII")
    if charset not in CHARSETS:
        raise IMAPError("Unsupported charset.", b"BADCHARSET (US-ASCII UTF-8)")
    mailbox = view.mailbox
    ctx = _Context(view, charset, int(session.context.reactor.seconds()))
    uids_all = view.uids
    uses_modseq = any(key.op == "MODSEQ" for key in _walk(criteria))
    if uses_modseq:
        session.enable_condstore()
    for key in _walk(criteria):
        if key.op == "HEADER" and ctx.text(key.args[1]).isascii():
            # The index compares ASCII case-insensitively only: other text is matched below.
            found = await mailbox.search_header(key.args[0].decode("ascii", "replace"), ctx.text(key.args[1]))
            if found is not None:
                ctx.header_sets[id(key)] = found
        elif key.op == "SEQSET":
            ctx.ranges[id(key)] = key.args[0].matcher(len(uids_all))
        elif key.op == "UID":
            seqset = saved if key.args[0].saved else key.args[0]
            ctx.ranges[id(key)] = seqset.matcher(uids_all[-1] if uids_all else 0)
    pairs = view.present(list(zip(range(1, len(uids_all) + 1), uids_all)))
    top = list(criteria.args) if criteria.op == "AND" else [criteria]
    cheap = [k for k in top if _cost(k, ctx) == 0]
    costly = [k for k in top if _cost(k, ctx) > 0]
    for key in cheap:
        pairs = [p for p in pairs if _match(key, ctx, p[0], p[1], None)]
    texts = [key for key in _walk(criteria) if key.op in ("BODY", "TEXT")]
    if texts and pairs:
        found = await mailbox.search_texts([uid for _seq, uid in pairs],
                                           [(ctx.text(key.args[0]), key.op == "BODY") for key in texts])
        for key, uids in zip(texts, found):
            ctx.text_sets[id(key)] = uids
        for key in [k for k in costly if _cost(k, ctx) == 0]:
            pairs = [p for p in pairs if _match(key, ctx, p[0], p[1], None)]
        costly = [k for k in costly if _cost(k, ctx) > 0]
    if costly and pairs:
        cached = max(_cost(k, ctx) for k in costly) >= 2
        survivors = []
        for i in range(0, len(pairs), _CHUNK):
            chunk = pairs[i:i + _CHUNK]
            metas = {m.uid: m for m in await mailbox.meta([u for _s, u in chunk], cached=cached)}
            for seq, uid in chunk:
                meta = metas.get(uid)
                if meta is not None and all(_match(k, ctx, seq, uid, meta) for k in costly):
                    survivors.append((seq, uid))
        pairs = survivors
    return pairs, uses_modseq


async def _search(session, cmd: Search, view, saved: SequenceSet) -> Reply:
    mailbox = view.mailbox
    pairs, uses_modseq = await matching(session, view, cmd.criteria, cmd.charset, saved)
    if cmd.return_options is not None:
        answer_esearch(session, cmd, view, pairs, uses_modseq)
        return Reply.ok("Search completed.")
    numbers = [uid if cmd.uid else seq for seq, uid in pairs]
    line = b" ".join([b"SEARCH"] + [b"%d" % n for n in numbers])
    if uses_modseq and pairs:
        # RFC 7162 §3.1.5: the highest MODSEQ of the messages found.
        line += b" (MODSEQ %d)" % max(mailbox.modseq_of(uid) for _seq, uid in pairs)
    session.send(wire.untagged(line))
    return Reply.ok("Search completed.")


def answer_esearch(session, cmd: Search, view, pairs: list[tuple[int, int]], uses_modseq: bool) -> None:
    options = frozenset(cmd.return_options)
    returned = pairs
    if not options & _EVERY and options & {"MIN", "MAX"} and pairs:
        ends = ([pairs[0]] if "MIN" in options else []) + ([pairs[-1]] if "MAX" in options else [])
        returned = sorted(set(ends))
    if "SAVE" in options:
        view.save([uid for _seq, uid in returned])
        if options == {"SAVE"}:
            return  # RFC 5182 §2.1: SAVE alone suppresses the response
    modseq = None
    if uses_modseq and returned:
        # RFC 4731 §3.2, RFC 7162 §3.1.5: the highest MODSEQ of the messages returned.
        modseq = max(view.mailbox.modseq_of(uid) for _seq, uid in returned)
    numbers = [uid if cmd.uid else seq for seq, uid in pairs]
    session.send(wire.untagged(esearch_response(cmd.tag, cmd.uid, options, numbers, modseq)))


def esearch_response(tag: bytes, uid: bool, options: frozenset[str], numbers: list[int],
                     modseq: int | None = None) -> bytes:
    """``ESEARCH (TAG "a1") [UID] [MIN n] [MAX n] [ALL set] [COUNT n] [MODSEQ n]``
    (RFC 4731 §3.1, §4), items in Dovecot's order; ``numbers`` ascending.
    With nothing found only COUNT (0) is said (RFC 4731 §3.1)."""
    parts = [b"ESEARCH (TAG " + wire.quoted(tag) + b")"]
    if uid:
        parts.append(b"UID")
    if numbers:
        if "MIN" in options:
            parts.append(b"MIN %d" % numbers[0])
        if "MAX" in options:
            parts.append(b"MAX %d" % numbers[-1])
        if "ALL" in options:
            parts.append(b"ALL " + wire.number_set(numbers))
    if "COUNT" in options:
        parts.append(b"COUNT %d" % len(numbers))
    if modseq is not None:
        parts.append(b"MODSEQ %d" % modseq)
    return b" ".join(parts)


def _day(value) -> date | None:
    return value.date() if value is not None else None


def _match(key: SearchKey, ctx: _Context, seq: int, uid: int, meta) -> bool:
    op, args = key.op, key.args
    if op == "ALL":
        return True
    if op == "AND":
        return all(_match(k, ctx, seq, uid, meta) for k in args)
    if op == "OR":
        return _match(args[0], ctx, seq, uid, meta) or _match(args[1], ctx, seq, uid, meta)
    if op == "NOT":
        return not _match(args[0], ctx, seq, uid, meta)
    if op == "SEQSET":
        return seq in ctx.ranges[id(key)]
    if op == "UID":
        return uid in ctx.ranges[id(key)]
    view = ctx.view
    if op == "FLAG":
        if args[0] == "\\Recent":
            return uid in view.recent
        return view.mailbox.spell(args[0], register=False) in view.mailbox.flags_of(uid)
    if op == "UNFLAG":
        if args[0] == "\\Recent":
            return uid not in view.recent
        return view.mailbox.spell(args[0], register=False) not in view.mailbox.flags_of(uid)
    if op == "NEW":
        return uid in view.recent and "\\Seen" not in view.mailbox.flags_of(uid)
    if op == "OLD":
        return uid not in view.recent
    if op == "HEADER":
        found = ctx.header_sets.get(id(key))
        if found is not None:
            return uid in found
        wanted = ctx.text(args[1])
        values = header_values(meta.header, args[0].decode("ascii", "replace"))
        return any(wanted in casemap(v) for v in values)
    if op == "MODSEQ":
        return view.mailbox.modseq_of(uid) >= args[0]
    if op == "OLDER":
        return int(meta.internaldate.timestamp()) <= ctx.now - args[0]
    if op == "YOUNGER":
        return int(meta.internaldate.timestamp()) >= ctx.now - args[0]
    if op == "LARGER":
        return meta.size > args[0]
    if op == "SMALLER":
        return meta.size < args[0]
    if op in ("BEFORE", "ON", "SINCE"):
        return _compare(op, meta.internaldate.date(), args[0])
    if op in ("SAVEDBEFORE", "SAVEDON", "SAVEDSINCE"):
        # The day in the server's zone, as for INTERNALDATE (RFC 3501 §6.4.4);
        # a row saved before save dates were kept falls back to its INTERNALDATE.
        saved = meta.savedate or meta.internaldate
        return _compare(op[5:], saved.astimezone().date(), args[0])
    if op in ("SENTBEFORE", "SENTON", "SENTSINCE"):
        sent = _day(meta.sent_date) or meta.internaldate.date()
        return _compare(op[4:], sent, args[0])
    if op in ("BODY", "TEXT"):
        return uid in ctx.text_sets[id(key)]
    raise IMAPError(f"Unsupported search key {op}.")


def _compare(op: str, day: date, wanted: date) -> bool:
    if op == "BEFORE":
        return day < wanted
    if op == "ON":
        return day == wanted
    return day >= wanted
