"""THREAD algorithms and the THREAD response (RFC 5256 §3, §4; REFS as in
draft-ietf-morg-inthread, the "RFC 5256bis" algorithm Dovecot offers).

Owns ORDEREDSUBJECT, REFERENCES and REFS over already extracted values (one
``ThreadMessage`` per message that matched the search), and the encoding of
the resulting trees as ``thread-list``s. Where RFC 5256 leaves a choice, the
choice is Dovecot's: ties of equal dates go to the lower message number; a
message whose parents are all dummies hangs under the topmost dummy
(equivalent to §3 step 3 done at once); REFS sorts threads by their newest
message. Pure: no sockets, no reactor, no disk. Nothing here recurses, so a
reply chain thousands of messages deep cannot exhaust the Python stack.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

ALGORITHMS = ("ORDEREDSUBJECT", "REFERENCES", "REFS")


@dataclass(frozen=True, slots=True)
class ThreadMessage:
    """``number`` is what the response shows (sequence number or UID; both
    break ties the same way); ``date`` the sent date as a POSIX time, or
    INTERNALDATE when there is none (RFC 5256 §2.2); ``subject`` the base
    subject's collation key, "" for none; ``message_id`` None when the
    message has no valid one; ``references`` the IDs to link, oldest first."""

    number: int
    date: float
    subject: str = ""
    reply_or_forward: bool = False
    message_id: str | None = None
    references: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ThreadNode:
    """One node of a thread tree; ``number`` None for a dummy (only at the top)."""

    number: int | None
    children: tuple["ThreadNode", ...] = ()


def thread(algorithm: str, messages: list[ThreadMessage]) -> list[ThreadNode]:
    """The threads of ``messages`` (in mailbox order) by ``algorithm``."""
    if algorithm == "ORDEREDSUBJECT":
        return orderedsubject(messages)
    if algorithm == "REFERENCES":
        return references(messages)
    if algorithm == "REFS":
        return refs(messages)
    raise ValueError(f"unknown thread algorithm {algorithm}")


# -- ORDEREDSUBJECT (RFC 5256 §3) -------------------------------------------
def orderedsubject(messages: list[ThreadMessage]) -> list[ThreadNode]:
    """Messages sorted by base subject then sent date; each run of one subject
    is a thread whose first message is the parent of all the others; the
    threads sorted by the sent date of their first message."""
    ordered = sorted(messages, key=lambda m: (m.subject, m.date, m.number))
    groups: list[list[ThreadMessage]] = []
    for message in ordered:
        if groups and groups[-1][0].subject == message.subject:
            groups[-1].append(message)
        else:
            groups.append([message])
    groups.sort(key=lambda g: (g[0].date, g[0].number))
    return [ThreadNode(g[0].number, tuple(ThreadNode(m.number) for m in g[1:])) for g in groups]


# -- REFERENCES and REFS (RFC 5256 §3) ------------------------------------------
class _Node:
    __slots__ = ("message", "parent", "children", "reply", "merged_into", "gone")

    def __init__(self, message: ThreadMessage | None = None) -> None:
        self.message = message
        self.parent: _Node | None = None
        self.children: list[_Node] = []
        self.reply = False
        self.merged_into: _Node | None = None  # step 5: where the subject table sent it
        self.gone = False

    @property
    def dummy(self) -> bool:
        return self.message is None

    def sort_key(self) -> tuple[float, int]:
        if self.message is not None:
            return self.message.date, self.message.number
        return self.children[0].sort_key()  # a dummy sorts as its oldest child


def _is_ancestor(candidate: _Node, node: _Node) -> bool:
    """Whether ``candidate`` is ``node`` or above it."""
    while node is not None:
        if node is candidate:
            return True
        node = node.parent
    return False


def _link(parent: _Node, child: _Node) -> None:
    """Step 1.A's rules: an existing parent stays; no loops."""
    if child.parent is None and not _is_ancestor(child, parent):
        child.parent = parent


def _link_messages(messages: list[ThreadMessage]) -> list[_Node]:
    """Step 1: every node, real and dummy, with its parent set."""
    by_id: dict[str, _Node] = {}
    nodes: list[_Node] = []

    def node_for(message_id: str) -> _Node:
        node = by_id.get(message_id)
        if node is None:
            node = by_id[message_id] = _Node()
            nodes.append(node)
        return node

    for message in messages:
        mid = message.message_id
        if mid is None or (mid in by_id and by_id[mid].message is not None):
            node = _Node()  # no ID, or a duplicate: a unique ID of its own
            nodes.append(node)
        else:
            node = node_for(mid)
        node.message = message
        last = None
        for reference in message.references:  # (A)
            current = node_for(reference)
            if last is not None and last is not current:
                _link(last, current)
            last = current
        # (B) the last reference is the parent, whatever a truncated
        # References line of another message said before.
        if node.parent is not None and node.parent is not last:
            node.parent = None
        if last is not None and not _is_ancestor(node, last):
            node.parent = last
    return nodes


def _gather(nodes: list[_Node]) -> list[_Node]:
    """Steps 2 and 3: each real message becomes a child of its nearest real
    ancestor, else of its topmost (dummy) ancestor; returns the roots."""
    roots: list[_Node] = []
    for node in nodes:
        node.children = []
    for node in nodes:
        if node.dummy:
            if node.parent is None:
                roots.append(node)
            continue
        above = node.parent
        while above is not None and above.dummy and above.parent is not None:
            above = above.parent
        if above is None:
            roots.append(node)
        else:
            above.children.append(node)
    return [root for root in roots if not (root.dummy and not root.children)]


def _sort_children(nodes: Iterable[_Node]) -> None:
    for node in nodes:
        if len(node.children) > 1:
            node.children.sort(key=_Node.sort_key)


def _sort_roots(roots: list[_Node]) -> list[_Node]:
    """Step 4 (and 6 for the top): a dummy with one child gives way to it
    (step 3's exception for the root level), the others sort as their oldest."""
    promoted = []
    for root in roots:
        if root.dummy and len(root.children) == 1:
            root = root.children[0]
        promoted.append(root)
    return sorted(promoted, key=_Node.sort_key)


def _thread_subject(node: _Node) -> tuple[str, bool]:
    message = node.message if not node.dummy else node.children[0].message
    return message.subject, message.reply_or_forward


def _merge_subjects(roots: list[_Node]) -> list[_Node]:
    """Step 5: threads whose top messages share a base subject are merged."""
    table: dict[str, _Node] = {}
    for root in roots:  # (B)
        subject, root.reply = _thread_subject(root)
        if not subject:
            continue
        held = table.get(subject)
        if held is None:
            table[subject] = root
        elif not held.dummy and (root.dummy or (held.reply and not root.reply)):
            table[subject] = root
            held.merged_into = root
        else:
            root.merged_into = held
    added: list[_Node] = []
    for root in roots:  # (C)
        if root.merged_into is None or root.gone:
            continue
        held = root.merged_into
        while held.merged_into is not None:
            held = held.merged_into
        if root.dummy:
            held.children.extend(root.children)
        elif held.dummy or (root.reply and not held.reply):
            held.children.append(root)
        else:
            dummy = _Node()
            dummy.children = [held, root]
            held.merged_into = dummy
            held.gone = True
            added.append(dummy)
        root.gone = True
    return [root for root in roots + added if not root.gone]


def references(messages: list[ThreadMessage]) -> list[ThreadNode]:
    """THREAD=REFERENCES (RFC 5256 §3, steps 1-6)."""
    nodes = _link_messages(messages)
    roots = _gather(nodes)
    _sort_children(nodes)
    roots = _sort_roots(roots)
    roots = _merge_subjects(roots)
    # A merge may have added children anywhere in the top two levels.
    _sort_children(node for root in roots for node in _walk(root))
    return _frozen(_sort_roots(roots))


def refs(messages: list[ThreadMessage]) -> list[ThreadNode]:
    """THREAD=REFS: REFERENCES without the subject merge (step 5), threads
    sorted by their newest message, so the thread a reply just joined comes
    last; a dummy top message keeps its place and sorts before a real one
    of the same date (as Dovecot)."""
    nodes = _link_messages(messages)
    roots = _gather(nodes)
    _sort_children(nodes)
    keyed = []
    for root in roots:
        newest = max((n.message.date for n in _walk(root) if not n.dummy), default=0.0)
        keyed.append(((newest, 0 if root.dummy else root.message.number), root))
    keyed.sort(key=lambda pair: pair[0])
    return _frozen([root for _key, root in keyed])


def _walk(root: _Node):
    stack = [root]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(node.children)


def _frozen(roots: list[_Node]) -> list[ThreadNode]:
    """The mutable trees as ``ThreadNode``s, built bottom-up without recursion."""
    built: dict[int, ThreadNode] = {}
    for root in roots:
        order = list(_walk(root))
        for node in reversed(order):  # children before their parents
            number = None if node.dummy else node.message.number
            built[id(node)] = ThreadNode(number, tuple(built.pop(id(c)) for c in node.children))
    return [built.pop(id(root)) for root in roots]


# -- the response (RFC 5256 §4) ---------------------------------------------------
def encode_threads(threads: list[ThreadNode]) -> bytes:
    """``thread-list``s: ``(3 6 (4 23)(44 7 96))``. A node with one child is
    followed by it directly; with several, each child is its own list; a
    dummy shows only its children (``((3)(5))``)."""
    out: list[bytes] = []
    stack: list[object] = []
    for top in reversed(threads):
        stack += [b")", top, b"("]
    while stack:
        item = stack.pop()
        if isinstance(item, bytes):
            out.append(item)
            continue
        node: ThreadNode = item  # type: ignore[assignment]
        children = node.children
        if node.number is not None:
            out.append(b"%d" % node.number if not children else b"%d " % node.number)
        if len(children) == 1:
            stack.append(children[0])
        else:
            for child in reversed(children):
                stack += [b")", child, b"("]
    return b"".join(out)
