"""Differential IMAP conversations: run one script against two servers and
compare the answers structurally (issue 4, "differential conformance suite").

A script is a list of ``Step``s: a session name and a command without its tag.
``{box}`` in a command is the per-run folder prefix, ``{user}`` the login name
on that server. Each session is its own connection, opened at its first step
(whose answer is then the greeting followed by the command's responses).

What the RFCs leave free, or what is a property of one installation rather
than of the protocol, is normalized away before comparing (see ``normalize``):
UIDVALIDITY and MODSEQ values, the human-readable text after a status and its
response code, capability lists, INTERNALDATEs and SAVEDATEs of the append moment, the order
of untagged responses and of FETCH items, flag-list order, atom vs quoted vs
literal spelling, the case of BODYSTRUCTURE media types, encodings and
parameter names, the letter order of ACL rights strings and the order of
ACL and METADATA pairs. Everything else must be equal, or be listed in
``allowlist.toml`` with the RFC section that makes cpmstore's answer right.

This module owns only the client side: sockets, parsing responses, comparing.
It must never start servers nor know about either server's internals.
"""

from __future__ import annotations

import base64
import datetime
import importlib.util
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

DOVECOT = ("127.0.0.1", 10143)
# One pair of logins on both servers, so that user names in answers (ACL
# identifiers, "shared/user3/..." in the other users' namespace) are equal
# without rewriting: {user} owns the scenario's folders, {user2} is the other
# user an ACL scenario shares them with.
DOVECOT_USER = "user3"
CPMSTORE_USER = "user3"
SECOND_USER = "user4"
PASSWORD = "pass"


@dataclass(frozen=True, slots=True)
class Step:
    session: str
    command: str  # as written in the script: the allowlist names steps by it
    wire: bytes  # UTF-8, with its literals filled in
    repeat: int = 1  # the n-th time this very line occurs in its script

    @property
    def label(self) -> str:
        return f"{self.session}: {self.command}" + (f" #{self.repeat}" if self.repeat > 1 else "")


def steps(script: str, literals: dict[str, bytes] | None = None) -> list[Step]:
    """``a: SELECT "{box}"`` lines -> Steps (blank lines and ``#`` comments
    ignored). ``{lit:name}`` becomes a LITERAL+ literal of ``literals[name]``."""
    out = []
    for raw in script.strip().splitlines():
        raw = raw.strip()
        if raw and not raw.startswith("#"):
            session, _, command = raw.partition(": ")
            pieces = re.split(r"\{(lit|sync):(\w+)\}", command)
            wire = b"".join(
                literal((literals or {})[pieces[index + 1]], pieces[index] == "sync") if index % 3 == 1
                else b"" if index % 3 == 2 else pieces[index].encode()
                for index in range(len(pieces)))
            repeat = 1 + sum(1 for step in out if (step.session, step.command) == (session, command))
            out.append(Step(session, command, wire, repeat))
    return out


def literal(data: bytes, synchronizing: bool = False) -> bytes:
    """A LITERAL+ literal (RFC 7888), sent without waiting for a continuation,
    or a synchronizing one (RFC 3501 §7.5): the server may refuse the command
    before the client sends it, so the bytes never land in the command stream."""
    return (b"{%d}\r\n" if synchronizing else b"{%d+}\r\n") % len(data) + data


# -- the wire --------------------------------------------------------------

def server_test_module(name: str) -> ModuleType:
    """A helper module of tests/server (transcript, cpm_samples), loaded by
    path: that folder is on sys.path only when its own tests are collected."""
    path = Path(__file__).parent.parent / "server" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"conformance_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Connection(server_test_module("transcript").Connection):
    """The server tests' line reader (literals inline) with a command that
    also handles synchronizing literals and a server hanging up."""

    def __init__(self, address: tuple[str, int]) -> None:
        super().__init__(address[1], host=address[0])

    def command(self, tag: bytes, line: bytes) -> list[bytes]:
        """Every response line up to the tagged one; ``<connection closed>``
        ends the list if the server hung up (after BYE, or earlier)."""
        lines = []
        try:
            data = tag + b" " + line + b"\r\n"
            # A synchronizing literal's bytes follow only a "+" continuation;
            # any other answer is the server refusing the command first.
            sent = 0
            for marker in re.finditer(rb"\{\d+\}\r\n", data):
                self.sock.sendall(data[sent:marker.end()])
                sent = marker.end()
                reply = self.read_line()
                if not reply.startswith(b"+"):
                    lines.append(reply)
                    break
            else:
                self.sock.sendall(data[sent:])
            while not (lines and lines[-1].startswith(tag + b" ")):
                lines.append(self.read_line())
            return lines
        except OSError:  # ConnectionError, a reset or a closed pipe alike
            lines.append(b"<connection closed>")
            return lines


@dataclass
class Run:
    """One script on one server: raw answers per step."""
    address: tuple[str, int]
    user: str
    box: str
    answers: list[list[bytes]] = field(default_factory=list)


def expand(command: bytes, user: str, box: str) -> bytes:
    """``{box}``, ``{user}``, ``{user2}`` (``SECOND_USER``) and ``{plain}`` (a
    SASL PLAIN response for the user, RFC 4616) filled in for one server."""
    plain = base64.b64encode(b"\0" + user.encode() + b"\0" + PASSWORD.encode())
    return (command.replace(b"{box}", box.encode()).replace(b"{user}", user.encode())
            .replace(b"{user2}", SECOND_USER.encode()).replace(b"{plain}", plain))


def with_urls(command: bytes, urls: list[Any]) -> bytes:
    """``{url:N}``: the N-th URL of this server's last ``* GENURLAUTH``
    (RFC 4467 §7); tokens differ per server, so scripts name URLs this way."""
    def url(m: re.Match) -> bytes:
        index = int(m.group(1)) - 1
        return str(urls[index]).encode() if index < len(urls) else b"imap://no-such-url"
    return re.sub(rb"\{url:(\d+)\}", url, command)


def run_script(address: tuple[str, int], user: str, box: str, script: list[Step]) -> list[list[bytes]]:
    sessions: dict[str, Connection] = {}
    counters: dict[str, int] = {}
    answers = []
    urls: list[Any] = []  # of the last GENURLAUTH answer: {url:1}, {url:2}, ...
    try:
        for step in script:
            lines: list[bytes] = []
            if step.session not in sessions:
                sessions[step.session] = Connection(address)
                lines.append(sessions[step.session].read_line())
            counters[step.session] = counters.get(step.session, 0) + 1
            tag = f"{step.session}{counters[step.session]}".encode()
            lines += sessions[step.session].command(tag, with_urls(expand(step.wire, user, box), urls))
            answers.append(lines)
            urls = next((tokenize(line)[2:] for line in lines if line.startswith(b"* GENURLAUTH ")), urls)
    finally:
        for conn in sessions.values():
            conn.close()
    return answers


def cleanup(address: tuple[str, int], user: str, box: str) -> None:
    """Delete every folder under the run's prefix, children first, of
    ``user`` and of ``SECOND_USER`` (ACL scenarios make folders as both)."""
    for login in dict.fromkeys((user, SECOND_USER)):
        _cleanup_one(address, login, box)


def _cleanup_one(address: tuple[str, int], user: str, box: str) -> None:
    conn = Connection(address)
    try:
        conn.read_line()
        conn.command(b"c1", expand(b'LOGIN {user} pass', user, box))
        names = []
        for line in conn.command(b"c2", expand(b'LIST "" "{box}*"', user, box)):
            tokens = tokenize(line)
            if tokens[:2] == ["*", "LIST"]:
                names.append(tokens[-1])
        for number, name in enumerate(sorted(names, key=lambda n: -n.count("/"))):
            conn.command(b"d%d" % number, b"DELETE " + quote(name))
        conn.command(b"c3", b"LOGOUT")
    finally:
        conn.close()


def quote(text: str) -> bytes:
    return b'"' + text.encode("latin-1").replace(b"\\", b"\\\\").replace(b'"', b'\\"') + b'"'


# -- parsing ---------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Nil:
    def __repr__(self) -> str:
        return "NIL"


NIL = Nil()
_ATOM_END = b" ()\r\n"


@dataclass(frozen=True, slots=True)
class Literal8:
    """A ``~{n}`` literal8 (RFC 3516 §4.3), kept apart from a literal: which
    one a server chose is compared; ``data`` decoded as latin-1, octet for octet."""

    data: str


def tokenize(line: bytes) -> list[Any]:
    """A response line as nested lists of strings (atoms, quoted strings and
    literals all become ``str``; ``NIL`` becomes ``NIL``). Brackets inside an
    atom (``BODY[HEADER.FIELDS (A)]``, ``[UIDNEXT 5]``) stay in the atom for
    FETCH item names; response codes are split off by ``split_status``."""
    pos = 0
    stack: list[list[Any]] = [[]]
    while pos < len(line):
        ch = line[pos:pos + 1]
        if ch == b" ":
            pos += 1
        elif ch == b"(":
            stack.append([])
            pos += 1
        elif ch == b")":
            inner = stack.pop()
            if not stack:
                raise ValueError(f"unbalanced ) in {line!r}")
            stack[-1].append(inner)
            pos += 1
        elif ch == b'"':
            end, out = pos + 1, bytearray()
            while line[end:end + 1] != b'"':
                if line[end:end + 1] == b"\\":
                    end += 1
                out += line[end:end + 1]
                end += 1
            stack[-1].append(out.decode("utf-8", "replace"))
            pos = end + 1
        elif ch == b"~" and (m := re.match(rb"~\{(\d+)\+?\}\r\n", line[pos:])):
            start = pos + m.end()
            stack[-1].append(Literal8(line[start:start + int(m.group(1))].decode("latin-1")))
            pos = start + int(m.group(1))
        elif ch == b"{" and (m := re.match(rb"\{(\d+)\+?\}\r\n", line[pos:])):
            start = pos + m.end()
            stack[-1].append(line[start:start + int(m.group(1))].decode("utf-8", "replace"))
            pos = start + int(m.group(1))
        else:
            end, depth = pos, 0
            while end < len(line) and (depth or line[end:end + 1] not in (b" ", b"(", b")")):
                if line[end:end + 1] == b"[":
                    depth += 1
                elif line[end:end + 1] == b"]":
                    depth = max(0, depth - 1)
                end += 1
            atom = line[pos:end].decode("utf-8", "replace")
            stack[-1].append(NIL if atom.upper() == "NIL" else atom)
            pos = end
    while len(stack) > 1:  # tolerate a truncated line rather than hide it
        inner = stack.pop()
        stack[-1].append(inner)
    return stack[0]


_STATUS = re.compile(rb"^(\S+) (OK|NO|BAD|BYE|PREAUTH)(?: \[([^\]]*(?:\[[^\]]*\][^\]]*)*)\])?(?: (.*))?$",
                     re.IGNORECASE | re.DOTALL)


def split_status(line: bytes) -> tuple[str, str, list[Any]] | None:
    """``tag OK [CODE args] text`` -> (tag, status, code tokens); text dropped."""
    m = _STATUS.match(line)
    if not m:
        return None
    code = tokenize(m.group(3)) if m.group(3) is not None else []
    return m.group(1).decode(), m.group(2).decode().upper(), code


# -- normalizing -----------------------------------------------------------

def _is_now(date: str) -> bool:
    try:
        when = datetime.datetime.strptime(date.strip(), "%d-%b-%Y %H:%M:%S %z")
    except ValueError:
        return False
    return abs(datetime.datetime.now(datetime.timezone.utc) - when) < datetime.timedelta(hours=2)


def _instant(date: str) -> str:
    """The same moment written in another zone is the same INTERNALDATE
    (RFC 3501 §2.3.3: a date and time; a server may store it in UTC)."""
    try:
        when = datetime.datetime.strptime(date.strip(), "%d-%b-%Y %H:%M:%S %z")
    except ValueError:
        return date
    return when.astimezone(datetime.timezone.utc).strftime("%d-%b-%Y %H:%M:%S UTC")


# The OMA CPM flag-extension (Message Storage TS, Appendix C), which cpmstore offers in
# every folder and Dovecot knows nothing of: dropped from FLAGS/PERMANENTFLAGS.
CPM_FLAGS = {"\\read-report-sent"}


def _flag_list(flags: list[Any]) -> list[Any]:
    return sorted((f for f in flags if str(f).lower() not in CPM_FLAGS), key=lambda f: str(f).lower())


def _body(node: Any) -> Any:
    """BODYSTRUCTURE / BODY: media type, subtype, encoding, disposition and
    parameter names are case-insensitive (RFC 2045 §5.1, §6.1; RFC 2183 §2)."""
    if not isinstance(node, list) or not node:
        return node
    if isinstance(node[0], list):  # multipart: parts..., subtype, extension data
        count = next((i for i, item in enumerate(node) if not isinstance(item, list)), len(node))
        rest = list(node[count:])
        if rest and isinstance(rest[0], str):
            rest[0] = rest[0].lower()
        if len(rest) > 1:
            rest[1] = _params(rest[1])
        return [_body(part) for part in node[:count]] + [_disposition(x) for x in rest]
    out = list(node)
    for index in (0, 1, 5):
        if len(out) > index and isinstance(out[index], str):
            out[index] = out[index].lower()
    if len(out) > 2:
        out[2] = _params(out[2])
    if out[:2] == ["message", "rfc822"] and len(out) > 8:
        out[8] = _body(out[8])
    return out[:7] + [_disposition(x) for x in out[7:]]


def _params(node: Any) -> Any:
    """Parameter names, and charset values, are case-insensitive (RFC 2045
    §5.1, RFC 2046 §4.1.2)."""
    if not isinstance(node, list):
        return node
    names = [x.lower() if isinstance(x, str) else x for x in node[::2]]
    values = [v.lower() if n == "charset" and isinstance(v, str) else v for n, v in zip(names, node[1::2])]
    return [item for pair in zip(names, values) for item in pair]


def _disposition(node: Any) -> Any:
    """("attachment" ("filename" "a.txt")): disposition and parameter names too."""
    if isinstance(node, list) and len(node) == 2 and isinstance(node[0], str) and isinstance(node[1], (list, Nil)):
        return [node[0].lower(), _params(node[1])]
    return node


_SORTED_LISTS = {"FLAGS", "PERMANENTFLAGS", "LIST", "LSUB"}


def _fetch(items: list[Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in zip(items[::2], items[1::2]):
        key = re.sub(r"\s+", " ", str(name).upper())
        if key in ("BODY", "BODYSTRUCTURE"):
            value = _body(value)
        elif key == "FLAGS" and isinstance(value, list):
            value = sorted(value, key=str.lower)
        elif key in ("INTERNALDATE", "SAVEDATE") and isinstance(value, str):
            # A SAVEDATE is always a moment of this run (RFC 8514 §3): the APPEND, COPY or MOVE.
            value = "<append moment>" if _is_now(value) else _instant(value)
        elif key == "MODSEQ":
            value = "<modseq>"
        out[key] = value
    return out


def _code(code: list[Any]) -> list[Any]:
    if not code:
        return code
    name = str(code[0]).upper()
    if name == "CAPABILITY":
        return ["CAPABILITY", "<capabilities>"]
    if name in ("UIDVALIDITY", "HIGHESTMODSEQ"):
        return [name, f"<{name.lower()}>"]
    if name in ("APPENDUID", "COPYUID") and len(code) > 1:
        return [name, "<uidvalidity>", *code[2:]]
    if name == "PERMANENTFLAGS" and len(code) > 1 and isinstance(code[1], list):
        return [name, _flag_list(code[1])]
    return [name, *code[1:]]


def normalize_line(line: bytes, box: str) -> Any:
    line = line.replace(box.encode(), b"{box}")
    # URLAUTH tokens are each server's own HMAC (RFC 4467 §7): only their place is compared.
    line = _URLAUTH_TOKEN.sub(lambda m: m.group(1) + m.group(2).lower() + b":<token>", line)
    status = split_status(line)
    if status:
        tag, name, code = status
        return ("*" if tag == "*" else "tagged", name, _code(code))
    tokens = tokenize(line)
    if not tokens:
        return tokens
    if tokens[0] == "+":
        return ("+",)
    kind = str(tokens[1]).upper() if len(tokens) > 1 else ""
    if kind == "CAPABILITY":
        return ("*", "CAPABILITY", "<capabilities>")
    if kind in ("LIST", "LSUB") and len(tokens) > 2 and isinstance(tokens[2], list):
        return ("*", kind, sorted(tokens[2], key=str.lower), *tokens[3:])
    if kind == "SEARCH":
        rest = tokens[2:]
        modseq = [x for x in rest if isinstance(x, list)]
        numbers = sorted((x for x in rest if isinstance(x, str)), key=lambda n: int(n) if n.isdigit() else 0)
        return ("*", "SEARCH", *numbers, *(["(MODSEQ <modseq>)"] if modseq else []))
    if kind == "ESEARCH":
        # RFC 4731 §3.2: the MODSEQ value is each server's own (RFC 7162 §3.1.1); only its presence counts.
        rest = list(tokens[2:])
        for i, token in enumerate(rest[:-1]):
            if str(token).upper() == "MODSEQ":
                rest[i + 1] = "<modseq>"
        return ("*", "ESEARCH", *rest)
    if kind == "STATUS" and len(tokens) > 3 and isinstance(tokens[3], list):
        items = dict(zip(tokens[3][::2], tokens[3][1::2]))
        for volatile in ("UIDVALIDITY", "HIGHESTMODSEQ"):
            if volatile in items:
                items[volatile] = f"<{volatile.lower()}>"
        return ("*", "STATUS", tokens[2], dict(sorted(items.items())))
    if kind == "FLAGS" and len(tokens) > 2 and isinstance(tokens[2], list):
        return ("*", "FLAGS", _flag_list(tokens[2]))
    if len(tokens) > 2 and str(tokens[2]).upper() == "FETCH":
        return ("*", tokens[1], "FETCH", _fetch(tokens[3] if isinstance(tokens[3], list) else []))
    if kind == "URLFETCH":
        return ("*", "URLFETCH", *(_urlfetch_items(x) if isinstance(x, list) else x for x in tokens[2:]))
    if kind == "VANISHED":
        return ("*", "VANISHED", *tokens[2:])
    if kind in ("ACL", "MYRIGHTS", "LISTRIGHTS"):
        return _rights_response(kind, tokens)
    if kind == "METADATA" and len(tokens) == 4 and isinstance(tokens[3], list) and len(tokens[3]) % 2 == 0:
        # RFC 5464 §4.4.1: entry-value pairs in no fixed order.
        pairs = sorted(zip(tokens[3][::2], tokens[3][1::2]), key=lambda pair: str(pair[0]))
        return ("*", "METADATA", tokens[2], pairs)
    return tuple(tokens)


# Mechanism names are case-insensitive (RFC 4467 §9).
_URLAUTH_TOKEN = re.compile(rb"(;URLAUTH=[^:\s]+:)([A-Za-z0-9.-]+):[0-9A-Fa-f]+", re.IGNORECASE)


def _urlfetch_items(items: list[Any]) -> list[Any]:
    """RFC 5524 URLFETCH items: BODYPARTSTRUCTURE compared as a BODYSTRUCTURE."""
    out: list[Any] = []
    for name, value in zip(items[::2], items[1::2]):
        name = str(name).upper()
        out += [name, _body(value) if name == "BODYPARTSTRUCTURE" else value]
    return out


def _rights(text: Any) -> Any:
    """A rights string is a set of letters (RFC 4314 §2): Dovecot prints them
    in the order they were stored (``kxilrc``), cpmstore canonically."""
    return "".join(sorted(set(text))) if isinstance(text, str) else text


def _rights_response(kind: str, tokens: list[Any]) -> tuple[Any, ...]:
    """ACL (identifier-rights pairs in no fixed order, RFC 4314 §3.6), MYRIGHTS
    (§3.8), LISTRIGHTS (required rights, then optional groups in no fixed
    order, §3.7): every rights string as a set. A malformed line is kept as is."""
    rest = tokens[3:]
    if kind == "MYRIGHTS" and len(rest) == 1:
        return ("*", kind, tokens[2], _rights(rest[0]))
    if kind == "ACL" and len(rest) % 2 == 0:
        return ("*", kind, tokens[2], *sorted(zip(map(str, rest[::2]), map(_rights, rest[1::2]))))
    if kind == "LISTRIGHTS" and len(rest) >= 2:
        return ("*", kind, tokens[2], rest[0], _rights(rest[1]), *sorted(map(_rights, map(str, rest[2:]))))
    return tuple(tokens)


def normalize(answer: list[bytes], box: str) -> list[Any]:
    """Untagged responses sorted (EXPUNGE/VANISHED keep their order, since
    each renumbers the next), FETCH responses for one message merged; then
    the tagged status last."""
    lines = [normalize_line(line, box) for line in answer]
    tagged = [x for x in lines if x and x[0] == "tagged"]
    untagged = [x for x in lines if not (x and x[0] == "tagged")]
    ordered = [x for x in untagged if len(x) > 2 and str(x[2]).upper() == "EXPUNGE"]
    others = [x for x in untagged if x not in ordered]
    fetches: dict[str, dict[str, Any]] = {}
    rest = []
    for x in others:
        if len(x) > 3 and x[2] == "FETCH":
            fetches.setdefault(x[1], {}).update(x[3])
        else:
            rest.append(x)
    merged = [("*", number, "FETCH", items) for number, items in fetches.items()]
    return ordered + sorted(rest + merged, key=repr) + tagged


# -- comparing -------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Allowed:
    scenario: str
    step: str
    description: str
    rfc: str


def load_allowlist(path: Path) -> list[Allowed]:
    data = tomllib.loads(path.read_text())
    entries = [Allowed(**entry) for entry in data.get("difference", [])]
    for entry in entries:
        if not entry.rfc.strip() or not entry.description.strip():
            raise ValueError(f"allowlist entry without an RFC section or description: {entry}")
    return entries


@dataclass(frozen=True, slots=True)
class Difference:
    step: Step
    dovecot: list[bytes]
    cpmstore: list[bytes]

    def __str__(self) -> str:
        def show(lines: list[bytes]) -> str:
            return "\n".join("        " + line.decode("utf-8", "replace")[:400] for line in lines)
        return f"  {self.step.label}\n    dovecot:\n{show(self.dovecot)}\n    cpmstore:\n{show(self.cpmstore)}"


def _without_select_highestmodseq(step: "Step", theirs: list[bytes], ours: list[bytes]):
    """RFC 7162 §3.1.2.1: a server that keeps MODSEQs persistently sends
    HIGHESTMODSEQ on every SELECT/EXAMINE; cpmstore always does, Dovecot only
    once a folder has had CONDSTORE used on it. Where just one side sent it,
    that line is not compared; where both did, it still is."""
    if not re.match(r"(SELECT|EXAMINE) ", step.command, re.IGNORECASE):
        return theirs, ours

    def marked(lines: list[bytes]) -> bool:
        return any(line.startswith(b"* OK [HIGHESTMODSEQ ") for line in lines)

    if marked(theirs) == marked(ours):
        return theirs, ours
    keep = [line for line in theirs if not line.startswith(b"* OK [HIGHESTMODSEQ ")]
    return keep, [line for line in ours if not line.startswith(b"* OK [HIGHESTMODSEQ ")]


def compare(script: list[Step], dovecot: list[list[bytes]], cpmstore: list[list[bytes]],
            box: str) -> list[Difference]:
    out = []
    for step, theirs, ours in zip(script, dovecot, cpmstore):
        left, right = _without_select_highestmodseq(step, theirs, ours)
        if normalize(left, box) != normalize(right, box):
            out.append(Difference(step, theirs, ours))
    return out
