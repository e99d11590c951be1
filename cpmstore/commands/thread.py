"""THREAD and UID THREAD (RFC 5256 §3, §4): ORDEREDSUBJECT, REFERENCES and REFS.

The messages are chosen by SEARCH's matcher; what threading needs of each
(Message-ID, References / In-Reply-To, base subject, sent date) comes from
the cached header block and dates, read and extracted chunk by chunk as for
SORT; the algorithms themselves are ``cpmstore.imap.threads``.
"""

from __future__ import annotations

from dataclasses import replace

from twisted.internet.threads import deferToThreadPool

from ..imap import response as wire
from ..imap.commands import Thread
from ..imap.threads import ThreadMessage, encode_threads, thread as make_threads
from ..mime.sortkeys import first_values, subject_key, thread_ids
from ..store.interfaces import MessageMeta
from .reply import Reply
from .search import matching
from .sort import message_values, sent_time

_THREAD_HEADERS = frozenset({b"subject", b"message-id", b"references", b"in-reply-to"})


def thread_values(meta: MessageMeta) -> ThreadMessage:
    """One message as the threading algorithms see it; ``number`` is filled
    in later, when it is known whether the client wants UIDs."""
    fields = first_values(meta.header, _THREAD_HEADERS)
    subject = subject_key(fields.get(b"subject"))
    message_id, references = thread_ids(fields)
    return ThreadMessage(0, sent_time(meta), subject.text, subject.reply_or_forward, message_id, references)


async def thread(session, cmd: Thread) -> Reply:
    view = session.selected
    pairs, _uses_modseq = await matching(session, view, cmd.search, cmd.charset, view.saved)
    values = await message_values(session, view.mailbox, pairs, thread_values, headers=True, kind="thread")
    reactor = session.context.reactor
    # Threading 100,000 messages takes about a second: not on the reactor.
    encoded = await deferToThreadPool(reactor, reactor.getThreadPool(), _encoded_threads,
                                      cmd.algorithm, pairs, values, cmd.uid)
    session.send(wire.untagged(b"THREAD " + encoded if encoded else b"THREAD"))
    return Reply.ok("Thread completed.")


def _encoded_threads(algorithm: str, pairs: list[tuple[int, int]], values: dict[int, ThreadMessage],
                     uid: bool) -> bytes:
    messages = [replace(values[u], number=u if uid else seq) for seq, u in pairs if u in values]
    return encode_threads(make_threads(algorithm, messages))
