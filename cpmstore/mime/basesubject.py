"""The base subject of RFC 5256 §2.1, for SORT SUBJECT and THREAD.

Owns the seven-step extraction exactly as RFC 5256 §2.1 writes it (servers
and disconnected clients MUST agree on it), and whether a subject is a reply
or forward (§2.1: a ``subj-refwd``, a ``(fwd)`` trailer or a ``[fwd:`` ...
``]`` wrapper was removed; a bare ``[blob]`` does not count). Its input is the
Subject text already RFC 2047-decoded (step 1's first half, done by the
caller with ``headers.decode_words``); case is kept, since comparing is the
collation's job. Pure: no sockets, no reactor, no disk.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class BaseSubject:
    text: str
    reply_or_forward: bool


# After step (1) every run of blanks is one space, so *WSP is at most " ".
_BLANKS = re.compile(r"[ \t\r\n]+")
# subj-blob = "[" *BLOBCHAR "]" *WSP, BLOBCHAR any char but "[" and "]".
_BLOB = r"\[[^\[\]]*\] ?"
# subj-leader without its WSP branch: *subj-blob subj-refwd, with
# subj-refwd = ("re" / ("fw" ["d"])) *WSP [subj-blob] ":" (ABNF strings ignore case).
_REFWD_LEADER = re.compile(rf"(?:{_BLOB})*(?:re|fwd?) ?(?:{_BLOB})?:", re.IGNORECASE)
_BLOB_PREFIX = re.compile(_BLOB)
_FWD_TRAILER = "(fwd)"
_FWD_HEADER = "[fwd:"


def base_subject(subject: str) -> BaseSubject:
    """RFC 5256 §2.1 steps (1)-(7) on a decoded Subject value."""
    text = _BLANKS.sub(" ", subject)  # (1)
    reply = False
    while True:
        # (2) subj-trailer = "(fwd)" / WSP, removed until none is left.
        while True:
            if text.endswith(" "):
                text = text[:-1]
            elif text[-len(_FWD_TRAILER):].lower() == _FWD_TRAILER:
                text = text[:-len(_FWD_TRAILER)]
                reply = True
            else:
                break
        # (3) and (4), repeated until neither matches (5).
        while True:
            found = False
            if text.startswith(" "):
                text = text[1:]
                found = True
            leader = _REFWD_LEADER.match(text)
            if leader is not None:
                text = text[leader.end():]
                reply = found = True
            blob = _BLOB_PREFIX.match(text)
            # Only when something is left: "[blob]" alone is itself the subj-base.
            if blob is not None and blob.end() < len(text):
                text = text[blob.end():]
                found = True
            if not found:
                break
        # (6) "[fwd:" subject "]": unwrap and go again from (2).
        if text[:len(_FWD_HEADER)].lower() == _FWD_HEADER and text.endswith("]"):
            text = text[len(_FWD_HEADER):-1]
            reply = True
            continue
        return BaseSubject(text, reply)  # (7)
