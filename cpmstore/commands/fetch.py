"""FETCH and UID FETCH (RFC 3501 §6.4.5, §7.4.2; UID FETCH §6.4.8), with
MODSEQ and CHANGEDSINCE (RFC 7162 §3.1.4-3.1.5), VANISHED (§3.2.6),
BINARY, BINARY.PEEK, BINARY.SIZE (RFC 3516 §4.2-4.3), SAVEDATE (RFC 8514
§4.2) and PREVIEW (RFC 8970 §3).

What each message costs is decided once per command from the items asked
for: flags and sizes come from the shared in-memory state; dates and the
cached ENVELOPE / BODYSTRUCTURE / header block from one index query per chunk;
PREVIEW texts likewise (computed at APPEND; a file is read only for a row
stored before previews were kept, and not at all under LAZY);
message files are read only for body sections, off the reactor thread, one
part at a time, the next part while the one before is framed and sent; each
part waits for the socket to drain, so memory stays flat (two parts at most)
however many messages are fetched. A bulk ``BODY[]`` (state items around one
whole-message literal) is framed per command, not per item
(``_whole_body_responses``). A small message delivered or
fetched lately may come from the body cache instead
(``store.mailbox.BODIES``): the same bytes, without the trip to a thread.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from twisted.internet import defer
from twisted.internet.threads import deferToThreadPool

from ..errors import BadCommand, IMAPError
from ..imap import response as wire
from ..imap.annotations import encode_annotation
from ..imap.commands import Fetch
from ..imap.condstore import fetch_modifiers
from ..imap.datetimes import format_internaldate
from ..imap.fetchatt import FetchAtt, response_name
from ..mime.binary import UnknownTransferEncoding, binary_section
from ..mime.sections import fetch_section
from .reply import Reply

_CACHED = frozenset({"ENVELOPE", "BODYSTRUCTURE", "RFC822.HEADER"})
_META = frozenset({"INTERNALDATE", "SAVEDATE"}) | _CACHED
_FILE = frozenset({"RFC822", "RFC822.TEXT", "BINARY", "BINARY.SIZE"})
_SETS_SEEN = frozenset({"RFC822", "RFC822.TEXT"})
_HEADER_ONLY = frozenset({"HEADER", "HEADER.FIELDS", "HEADER.FIELDS.NOT"})
_CHUNK_MESSAGES = 2000
_CHUNK_BYTES = 4 << 20
_REMEMBER_AT_MOST = 64  # messages in a FETCH whose bodies read from files are cached


def _header_only(att: FetchAtt) -> bool:
    s = att.section
    return s is not None and not s.parts and s.text in _HEADER_ONLY


def _reads_file(att: FetchAtt) -> bool:
    if att.name in _FILE:
        return True
    return att.name == "BODY" and att.section is not None and not _header_only(att)


def _needs_cache(att: FetchAtt) -> bool:
    return att.name in _CACHED or (att.name == "BODY" and (att.section is None or _header_only(att)))


def _sets_seen(att: FetchAtt) -> bool:
    if att.name in ("BODY", "BINARY"):
        return att.section is not None and not att.peek
    return att.name in _SETS_SEEN


class UnknownCte(IMAPError):
    """Unknown Content-Transfer-Encoding"""

    code = b"UNKNOWN-CTE"  # RFC 3516 §4.3: the whole FETCH fails


class Plan:
    def __init__(self, items: tuple[FetchAtt, ...], uid: bool, modseq: bool = False) -> None:
        items = list(items)
        if uid and not any(a.name == "UID" for a in items):
            items.insert(0, FetchAtt("UID"))
        if modseq and not any(a.name == "MODSEQ" for a in items):
            items.append(FetchAtt("MODSEQ"))  # CHANGEDSINCE implies MODSEQ (RFC 7162 §3.1.4.1)
        self.items = items
        self.cache = any(_needs_cache(a) for a in items)
        self.file = any(_reads_file(a) for a in items)
        self.meta = self.cache or any(a.name in _META for a in items)
        self.sets_seen = any(_sets_seen(a) for a in items)
        self.has_flags = any(a.name == "FLAGS" for a in items)
        self.annotations = any(a.name == "ANNOTATION" for a in items)
        self.preview = any(a.name == "PREVIEW" for a in items)
        # RFC 8970 §3.2: LAZY alone may answer NIL rather than do the work.
        self.preview_compute = any(a.name == "PREVIEW" and not a.lazy for a in items)


def read_message_files(paths: list[tuple[int, str]]) -> dict[int, bytes]:
    """Message bytes by UID, read in a worker thread (never on the reactor)."""
    return _read_files([(uid, path, None) for uid, path in paths])


def _read_files(entries: list[tuple[int, str, int | None]]) -> dict[int, bytes]:
    """Message bytes by UID from (UID, path, size the index holds or None),
    in a worker thread. ``os.open``/``os.read`` rather than ``open().read()``:
    no file object, no fstat when the size is known, one read per file; half
    the time per message of a bulk FETCH."""
    out = {}
    read, flags = os.read, os.O_RDONLY | os.O_CLOEXEC
    for uid, path, size in entries:
        try:
            fd = os.open(path, flags)
        except FileNotFoundError:
            continue  # expunged by another session meanwhile
        try:
            if size is None:
                size = os.fstat(fd).st_size
            data = read(fd, size + 1)  # one more: a longer file is seen as such
            if len(data) != size:
                # Not the size expected: read to the end, whatever it holds.
                parts = [data]
                while chunk := read(fd, 1 << 16):
                    parts.append(chunk)
                data = b"".join(parts)
        finally:
            os.close(fd)
        out[uid] = data
    return out


async def fetch(session, cmd: Fetch) -> Reply:
    view = session.selected
    mailbox = view.mailbox
    mods = fetch_modifiers(cmd.modifiers)
    if mods.vanished and not (cmd.uid and session.qresync):
        raise BadCommand("VANISHED needs UID FETCH and QRESYNC enabled.")  # RFC 7162 §3.2.6
    plan = Plan(cmd.items, cmd.uid, modseq=mods.changed_since is not None)
    if mods.changed_since is not None or any(a.name == "MODSEQ" for a in plan.items):
        session.enable_condstore()
    named = view.resolve(cmd.sequence_set, cmd.uid)
    pairs = view.present(named)
    if mods.vanished:
        # "*" reaches the highest UID ever given: an expunged top UID counts.
        wanted = view.substitute(cmd.sequence_set).matcher(max(mailbox.uid_next - 1, 1))
        gone = await mailbox.vanished_since(mods.changed_since, wanted.ranges)
        if gone:
            session.send(wire.untagged(b"VANISHED (EARLIER) " + wire.range_set(gone)))
    if mods.changed_since is not None:
        modseq_of = mailbox.modseq_of
        since = mods.changed_since
        pairs = [p for p in pairs if p[1] in mailbox and modseq_of(p[1]) > since]
    await send_fetch(session, view, plan, pairs)
    if not cmd.uid and len(pairs) < len(named) and mods.changed_since is None:
        # Messages another session expunged, whose EXPUNGE this session may not
        # hear yet (RFC 3501 §7.4.1): say so rather than answer OK with less
        # than was asked (RFC 2180 §4.1.2, RFC 5530 EXPUNGEISSUED).
        return Reply(b"NO", "Some of the requested messages no longer exist.", b"EXPUNGEISSUED")
    return Reply.ok("Fetch completed.")


async def send_fetch(session, view, plan: "Plan", pairs: list[tuple[int, int]]) -> None:
    """Write the ``* n FETCH`` responses for ``pairs``; also what NOTIFY's
    MessageNew sends with the client's fetch attributes (RFC 5465 §5.2)."""
    if not pairs:
        return
    mailbox = view.mailbox
    seen_now: set[int] = set()
    if plan.sets_seen and not view.readonly and "s" in view.rights:  # RFC 4314 §4
        flags_of = mailbox.flags_of
        unseen = [uid for _seq, uid in pairs if "\\Seen" not in flags_of(uid)]
        if unseen:
            changed = await mailbox.store_flags(unseen, "+", ("\\Seen",), origin=session)
            seen_now = {uid for uid, _flags, _modseq in changed}
    if not plan.file:
        for chunk in _chunks(pairs, _CHUNK_MESSAGES):
            metas, notes, previews = await _chunk_data(session, mailbox, plan, chunk)
            _send_all(session, _responses(view, plan, chunk, metas, None, seen_now, notes, previews))
            await session.drained()
        return
    # A few messages (a device fetching what it was just told of) are kept
    # for the next FETCH; a bulk download would only churn the cache.
    remember = len(pairs) <= _REMEMBER_AT_MOST
    whole = _whole_body(plan)
    parts = _parts(pairs, mailbox)
    current = next(parts, None)
    reading = _read_part(session, mailbox, current[1], remember)
    data_of, chunk_data = None, None
    try:
        while current is not None:
            chunk, part = current
            bodies = await reading
            # The next part's files are read while this one is framed and
            # sent: the disk and the socket overlap, and at most two parts'
            # bodies are held at once.
            current = next(parts, None)
            reading = None if current is None else _read_part(session, mailbox, current[1], remember)
            if whole is not None:
                session.send(_whole_body_responses(view, whole, part, bodies, seen_now))
            else:
                if data_of is not chunk:
                    data_of, chunk_data = chunk, await _chunk_data(session, mailbox, plan, chunk)
                metas, notes, previews = chunk_data
                _send_all(session, _responses(view, plan, part, metas, bodies, seen_now, notes, previews))
            await session.drained()
    finally:
        if reading is not None:
            reading.addErrback(lambda _failure: None)  # the command failed first; its read is moot


async def _chunk_data(session, mailbox, plan: Plan, chunk) -> tuple[dict, dict | None, dict | None]:
    """(metas by UID, annotations, previews) of ``chunk``: the index queries
    its responses need, one each per chunk, only those the plan asks for."""
    uids = [uid for _s, uid in chunk]
    notes = await mailbox.annotations(uids, session.user) if plan.annotations else None
    previews = await mailbox.previews(uids, compute=plan.preview_compute) if plan.preview else None
    metas = {}
    if plan.meta:
        for meta in await mailbox.meta(uids, cached=plan.cache):
            metas[meta.uid] = meta
    return metas, notes, previews


def _read_part(session, mailbox, part, remember: bool):
    """A Deferred of the bodies (by UID) of ``part``'s messages still in the
    folder: from the body cache, the rest read from their files in a
    worker thread."""
    bodies, missing = _cached_bodies(mailbox, part)
    if not missing:
        return defer.succeed(bodies)
    reactor = session.context.reactor

    def read(found):
        if remember:
            for uid, data in found.items():
                mailbox.remember_body(uid, data)
        bodies.update(found)
        return bodies

    return deferToThreadPool(reactor, reactor.getThreadPool(), _read_files, missing).addCallback(read)


def _cached_bodies(mailbox, part) -> tuple[dict[int, bytes], list[tuple[int, str, int]]]:
    """(bodies the cache holds by UID, (UID, path, size) of those to read
    from their files) for the messages of ``part`` still in the folder."""
    bodies: dict[int, bytes] = {}
    missing: list[tuple[int, str, int]] = []
    cached_body, path = mailbox.cached_body, mailbox.path
    sizes = mailbox.columns[2]
    positions = mailbox.positions([uid for _seq, uid in part])
    for (_seq, uid), i in zip(part, positions):
        if i >= 0:
            data = cached_body(uid)
            if data is None:
                missing.append((uid, path(uid), sizes[i]))
            else:
                bodies[uid] = data
    return bodies, missing


def _send_all(session, responses) -> None:
    """Send the responses; when one fails (UNKNOWN-CTE), those made before
    it still go out, as Dovecot answers, then the error ends the command."""
    out = []
    try:
        out.extend(responses)
    finally:
        session.send(b"".join(out))


def _chunks(pairs, size):
    for i in range(0, len(pairs), size):
        yield pairs[i:i + size]


def _parts(pairs, mailbox):
    """(chunk, part) for each part of ``pairs`` whose files are read at once:
    chunks of ``_CHUNK_MESSAGES`` messages, split further so that a part
    holds at most ``_CHUNK_BYTES`` (or a single larger message)."""
    sizes = mailbox.columns[2]
    for chunk in _chunks(pairs, _CHUNK_MESSAGES):
        positions = mailbox.positions([uid for _s, uid in chunk])
        if isinstance(positions, range) and sum(sizes[positions.start:positions.stop]) <= _CHUNK_BYTES:
            yield chunk, chunk  # the common case, summed in C
            continue
        part, total = [], 0
        for pair, i in zip(chunk, positions):
            size = sizes[i] if i >= 0 else 0
            if part and total + size > _CHUNK_BYTES:
                yield chunk, part
                part, total = [], 0
            part.append(pair)
            total += size
        if part:
            yield chunk, part


_STATE_ONLY = frozenset({"UID", "FLAGS", "MODSEQ", "RFC822.SIZE"})
_STATE_FORMAT = {"UID": b"UID %d", "FLAGS": b"FLAGS %s", "MODSEQ": b"MODSEQ (%d)", "RFC822.SIZE": b"RFC822.SIZE %d"}


def _state_responses(view, plan: Plan, pairs) -> list[bytes]:
    return state_responses(view, [att.name for att in plan.items], pairs)


def state_responses(view, names: list[str], pairs) -> list[bytes]:
    """``* n FETCH (...)`` of the items ``names`` (UID, FLAGS, MODSEQ or
    RFC822.SIZE, in the order given) for ``pairs`` (seq, uid), straight
    from the folder's column arrays: the common sync FETCH, and STORE's
    answer. One column of values per item (slices when the messages are a run
    of the folder's, as for ``1:*``), flag lists spelled once per distinct
    set, and one ``%`` of a per-command template per message. A message
    expunged meanwhile is left out."""
    seqs, uids, positions = _present(view.mailbox, pairs)
    columns = _state_columns(view, names, uids, positions)
    template = b"* %%d FETCH (%s)\r\n" % b" ".join(_STATE_FORMAT[name] for name in names)
    return [template % values for values in zip(seqs, *columns)]


def _present(mailbox, pairs, bodies: dict[int, bytes] | None = None) -> tuple[list[int], list[int], Sequence[int]]:
    """(seqs, uids, positions in the column arrays) of those of ``pairs``
    still in the folder (and, given ``bodies``, whose body was read): one
    merge walk, a ``range`` for a run of the folder's messages."""
    if bodies is not None and len(bodies) < len(pairs):
        pairs = [pair for pair in pairs if pair[1] in bodies]  # the others went before their files were read
    seqs = [seq for seq, _uid in pairs]
    uids = [uid for _seq, uid in pairs]
    positions = mailbox.positions(uids)
    if not isinstance(positions, range) and -1 in positions:
        kept = [k for k, i in enumerate(positions) if i >= 0]  # the others were expunged meanwhile
        seqs, uids, positions = [seqs[k] for k in kept], [uids[k] for k in kept], [positions[k] for k in kept]
    return seqs, uids, positions


def _state_columns(view, names: list[str], uids: list[int], positions: Sequence[int]) -> list[Sequence]:
    """The values of each of the state items ``names`` for ``uids`` (at
    ``positions``), one column per item."""
    flags_col, modseq_col, size_col = view.mailbox.columns
    columns = []
    for name in names:
        if name == "UID":
            columns.append(uids)
        elif name == "FLAGS":
            columns.append(view.encoded_flags_many(uids, _take(flags_col, positions)))
        else:
            columns.append(_take(modseq_col if name == "MODSEQ" else size_col, positions))
    return columns


def _whole_body(plan: Plan) -> tuple[list[str], bytes, list[str]] | None:
    """(state items before, response name, state items after) when ``plan``
    is state items around one whole-message literal, ``BODY[]``,
    ``BODY.PEEK[]`` or ``RFC822`` with no partial: the bulk download, framed
    by ``_whole_body_responses``. None for any other plan."""
    if plan.meta or plan.annotations or plan.preview:
        return None
    others = [k for k, att in enumerate(plan.items) if att.name not in _STATE_ONLY]
    if len(others) != 1:
        return None
    k = others[0]
    att = plan.items[k]
    section = att.section
    if not (att.name == "RFC822" or (att.name == "BODY" and section is not None and not section.parts
                                     and section.text is None and att.partial is None)):
        return None
    names = [each.name for each in plan.items]
    return names[:k], response_name(att), names[k + 1:]


def _whole_body_responses(view, whole: tuple[list[str], bytes, list[str]], pairs, bodies: dict[int, bytes],
                          seen_now: set[int]) -> bytes:
    """The responses of ``_message_responses`` for a ``_whole_body`` plan,
    the same bytes made per command rather than per item: one ``%`` of a
    template for what precedes each literal, state items from the column
    arrays, and one join of heads, bodies and tails."""
    before, name, after = whole
    seqs, uids, positions = _present(view.mailbox, pairs, bodies)
    if not uids:
        return b""
    texts = [bodies[uid] for uid in uids]
    lead = b"".join(_STATE_FORMAT[each] + b" " for each in before)
    head = b"* %d FETCH (" + lead + name.replace(b"%", b"%%") + b" {%d}\r\n"
    heads = [head % values for values in zip(seqs, *_state_columns(view, before, uids, positions), map(len, texts))]
    tail = b"".join(b" " + _STATE_FORMAT[each] for each in after) + b")\r\n"
    if after:
        tails = [tail % values for values in zip(*_state_columns(view, after, uids, positions))]
    else:
        tails = [tail] * len(uids)
    if seen_now and "FLAGS" not in before and "FLAGS" not in after:
        # As _message_responses: a message this FETCH marked \Seen says so.
        flags = view.encoded_flags_many(uids, _take(view.mailbox.columns[0], positions))
        tails = [t[:-3] + b" FLAGS " + f + b")\r\n" if uid in seen_now else t for t, f, uid in zip(tails, flags, uids)]
    out = [b""] * (3 * len(uids))
    out[0::3], out[1::3], out[2::3] = heads, texts, tails
    data = b"".join(out)
    if b"\x00" in data:
        # Rare: a body holds NUL. Each literal as wire.literal spells it.
        out[1::3] = [wire.plain_literal_octets(text) for text in texts]
        data = b"".join(out)
    return data


def _take(column, positions):
    """``column``'s values at ``positions``: a slice (copied in C) for a run."""
    if isinstance(positions, range):
        return column[positions.start:positions.stop]
    return list(map(column.__getitem__, positions))


def _responses(view, plan: Plan, pairs, metas, bodies, seen_now, notes=None, previews=None):
    # A state-only FETCH never sets \Seen, so seen_now is empty for it.
    if bodies is None and not seen_now and not plan.meta and all(att.name in _STATE_ONLY for att in plan.items):
        return _state_responses(view, plan, pairs)
    return _message_responses(view, plan, pairs, metas, bodies, seen_now, notes, previews)


def _message_responses(view, plan: Plan, pairs, metas, bodies, seen_now, notes, previews):
    mailbox = view.mailbox
    for seq, uid in pairs:
        meta = metas.get(uid)
        if (plan.meta and meta is None) or uid not in mailbox:
            continue  # expunged meanwhile: nothing to say about it
        body = None
        if bodies is not None:
            body = bodies.get(uid)
            if body is None:
                continue
        out = []
        for att in plan.items:
            if att.name == "ANNOTATION":
                request = att.annotation
                out.append(encode_annotation(request.entries, request.attribs, notes.get(uid, [])))
            elif att.name == "PREVIEW":
                out.append(b"PREVIEW " + wire.nstring(previews.get(uid)))
            else:
                out.append(_item(view, att, uid, meta, body))
        if uid in seen_now and not plan.has_flags:
            out.append(b"FLAGS " + view.encoded_flags(uid))
        yield b"* %d FETCH (%s)\r\n" % (seq, b" ".join(out))


def _item(view, att: FetchAtt, uid: int, meta, body: bytes | None) -> bytes:
    name = att.name
    if name == "UID":
        return b"UID %d" % uid
    if name == "FLAGS":
        return b"FLAGS " + view.encoded_flags(uid)
    if name == "MODSEQ":
        return b"MODSEQ (%d)" % view.mailbox.modseq_of(uid)
    if name == "RFC822.SIZE":
        return b"RFC822.SIZE %d" % view.mailbox.size_of(uid)
    if name == "INTERNALDATE":
        return b"INTERNALDATE " + format_internaldate(meta.internaldate)
    if name == "SAVEDATE":
        # RFC 8514 §4.2: NIL for a message whose save date is not known.
        return b"SAVEDATE " + (format_internaldate(meta.savedate) if meta.savedate else b"NIL")
    if name == "ENVELOPE":
        return b"ENVELOPE " + meta.envelope
    if name == "BODYSTRUCTURE":
        return b"BODYSTRUCTURE " + meta.bodystructure
    if name == "RFC822.HEADER":
        return b"RFC822.HEADER " + wire.literal(meta.header)
    if name == "RFC822":
        return b"RFC822 " + wire.literal(body)
    if name == "RFC822.TEXT":
        return b"RFC822.TEXT " + wire.literal(fetch_section(body, (), "TEXT") or b"")
    if name == "BODY" and att.section is None:
        return b"BODY " + meta.body
    if name in ("BINARY", "BINARY.SIZE"):
        return _binary_item(att, body)
    # BODY[section]<partial>
    section = att.section
    if not section.parts and section.text is None:
        data = body  # BODY[]: the stored bytes, no parsing
    else:
        source = meta.header if _header_only(att) else body
        data = fetch_section(source, section.parts, section.text, section.fields)
    if data is None:
        data = b""  # a part that does not exist is empty, as Dovecot answers
    if att.partial is not None:
        origin, count = att.partial
        data = data[origin:origin + count]
    return response_name(att) + b" " + wire.literal(data)


def _binary_item(att: FetchAtt, body: bytes) -> bytes:
    """``BINARY[...]`` as a literal8 when its data is binary, else a literal;
    ``BINARY.SIZE[...]`` the size that answer would have (RFC 3516 §4.3)."""
    try:
        section = binary_section(body, att.section.parts)
    except UnknownTransferEncoding:
        raise UnknownCte("Unknown Content-Transfer-Encoding.") from None
    data = b"" if section is None else section.data  # absent part: empty, as Dovecot
    if att.name == "BINARY.SIZE":
        return response_name(att) + b" %d" % len(data)
    if att.partial is not None:
        origin, count = att.partial
        data = data[origin:origin + count]
    binary = section is not None and section.binary
    return response_name(att) + b" " + (wire.literal8(data) if binary else wire.literal(data))
