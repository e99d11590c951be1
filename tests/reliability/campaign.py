"""The crash campaign (issue 10): a client stream of APPEND, STORE, COPY,
MOVE, EXPUNGE, RENAME, SETACL and SETMETADATA against a ``twistd`` server
that is SIGKILLed at random moments; after each restart the server must hold
every acknowledged change, the change in flight at the kill either whole or
not at all, never a reused UID, the same UIDVALIDITY, no MODSEQ gone
backwards, and a QRESYNC from the state before the kill must give exactly
the state after it.

The client keeps its own model of what the server acknowledged; the server's
answers after a restart are compared with it. Used by
``tests/reliability/test_crash_campaign.py`` (a few kills, in CI) and by
``benchmarks/chaos.py`` (hundreds, by hand)."""

from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path

from transcript import Connection
from twistd_proc import free_port, start_twistd

FOLDERS = ("Chats", "Media", "Archive")
FLAGS = ("\\Seen", "\\Flagged", "$Pinned", "\\read-report-sent")
RIGHTS = ("lr", "lrs", "lrsw", "ilrsw", "")  # sorted: GETACL's order is the server's

_UID = re.compile(rb"\bUID (\d+)")
_FLAGS = re.compile(rb"\bFLAGS \(([^)]*)\)")
_MODSEQ = re.compile(rb"\bMODSEQ \((\d+)\)")
_ID = re.compile(rb"X-Id: (\S+)")


class ServerGone(Exception):
    """The connection broke: the server was killed under the command."""


@dataclass
class Message:
    ident: str
    flags: frozenset[str]


@dataclass
class Folder:
    uid_validity: int
    messages: dict[int, Message] = field(default_factory=dict)
    highest_modseq: int = 0
    max_uid: int = 0  # the highest UID this folder ever showed: never to be reused
    acl: str = ""  # user2's rights
    comment: str | None = None  # /private/comment


@dataclass
class Report:
    kills: int = 0
    commands: int = 0
    acknowledged: int = 0
    in_flight: int = 0
    checked: int = 0  # facts compared after restarts


class Client:
    """One logged-in session speaking raw IMAP."""

    def __init__(self, port: int) -> None:
        try:
            self.conn = Connection(port)
            self.conn.sock.settimeout(20)
            self.conn.read_line()
        except OSError as e:
            raise ServerGone(str(e)) from None
        self.tags = 0
        self.run("LOGIN user1 pass")
        self.run("ENABLE QRESYNC")

    def run(self, line: str, literal: bytes | None = None) -> list[bytes]:
        """Every line up to the tagged OK; AssertionError on NO/BAD."""
        self.tags += 1
        tag = b"c%d" % self.tags
        data = tag + b" " + line.encode()
        if literal is not None:
            data += b" {%d+}\r\n" % len(literal) + literal
        try:
            self.conn.send(data + b"\r\n")
            lines = self.conn.until(tag)
        except (OSError, ConnectionError) as e:
            raise ServerGone(str(e)) from None
        assert lines[-1].startswith(tag + b" OK"), (line, lines[-1])
        return lines

    def close(self) -> None:
        self.conn.close()


def _flags(line: bytes) -> frozenset[str]:
    m = _FLAGS.search(line)
    return frozenset(f for f in m.group(1).decode().split() if f != "\\Recent") if m else frozenset()


def _status(lines: list[bytes], item: str) -> int:
    for line in lines:
        m = re.search(rb"\b" + item.encode() + rb" (\d+)", line)
        if m:
            return int(m.group(1))
    raise AssertionError(f"no {item} in {lines}")


class Campaign:
    def __init__(self, workdir: Path, seed: int, server_config: str = "") -> None:
        self.workdir = workdir
        self.server_config = server_config  # `key = value` lines of [server], e.g. fsync = "optimized"
        self.rng = random.Random(seed)
        self.port = free_port()
        self.proc: subprocess.Popen | None = None
        self.model: dict[str, Folder] = {}
        self.names = {slot: slot for slot in FOLDERS}  # slot -> current name (RENAME moves it)
        self.report = Report()
        self.serial = 0

    # -- server ----------------------------------------------------------------
    def start(self) -> None:
        self.proc = start_twistd(self.workdir, self.port, users={"user1": "pass", "user2": "pass"},
                                 server_config=self.server_config)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)

    # -- the run -----------------------------------------------------------------
    def setup(self) -> None:
        self.start()
        client = Client(self.port)
        for slot in FOLDERS:
            client.run(f'CREATE "{slot}"')
            lines = client.run(f'SELECT "{slot}"')
            self.model[slot] = Folder(_status(lines, "UIDVALIDITY"), highest_modseq=_status(lines, "HIGHESTMODSEQ"))
        client.close()

    def round(self, min_delay: float = 0.05, max_delay: float = 0.6) -> None:
        """Operate until a random kill, restart, check everything."""
        snapshot = {slot: self._copy(folder) for slot, folder in self.model.items()}
        killer = threading.Timer(self.rng.uniform(min_delay, max_delay), self.kill)
        killer.start()
        in_flight = None
        client = None
        try:
            client = Client(self.port)
            while True:
                in_flight = self._operation()
                in_flight(client, apply=False)  # raises ServerGone when the kill lands
                in_flight(client, apply=True)
                self.report.acknowledged += 1
                in_flight = None
        except ServerGone:
            pass
        finally:
            killer.join()
            if client is not None:
                client.close()
        self.report.kills += 1
        if in_flight is not None:
            self.report.in_flight += 1
        self.start()
        self.check(in_flight, snapshot)

    # Each operation is a function called twice: apply=False sends the
    # command(s) and keeps the answer, apply=True puts it into the model.
    def _operation(self):
        kind = self.rng.choice(("append", "append", "store", "copy", "move", "expunge",
                                "rename", "setacl", "setmetadata"))
        slot = self.rng.choice(FOLDERS)
        folder = self.model[slot]
        name = self.names[slot]
        uids = sorted(folder.messages)
        answer: dict = {}
        self.report.commands += 1

        if kind in ("store", "copy", "move", "expunge") and not uids:
            kind = "append"
        if kind == "append":
            self.serial += 1
            ident = f"m{self.serial}"
            flags = tuple(f for f in FLAGS if self.rng.random() < 0.3)
            body = (f"From: a@example.com\r\nSubject: {ident}\r\nX-Id: {ident}\r\n\r\n".encode()
                    + os.urandom(self.rng.randint(10, 3000)).hex().encode() + b"\r\n")

            def op(client: Client, apply: bool) -> None:
                if not apply:
                    answer["lines"] = client.run(f'APPEND "{name}" ({" ".join(flags)})', body)
                    return
                uid = int(re.search(rb"APPENDUID \d+ (\d+)", answer["lines"][-1]).group(1))
                folder.messages[uid] = Message(ident, frozenset(flags))
                folder.max_uid = max(folder.max_uid, uid)
            op.pending = ("append", slot, ident)
            return op

        uid = self.rng.choice(uids) if uids else 0
        if kind == "store":
            flag = self.rng.choice(FLAGS)
            sign = self.rng.choice("+-")

            def op(client: Client, apply: bool) -> None:
                if not apply:
                    client.run(f'SELECT "{name}"')
                    client.run(f"UID STORE {uid} {sign}FLAGS.SILENT ({flag})")
                    return
                old = folder.messages[uid].flags
                folder.messages[uid].flags = old | {flag} if sign == "+" else old - {flag}
            op.pending = ("store", slot, uid)
            return op
        if kind in ("copy", "move"):
            target_slot = self.rng.choice([s for s in FOLDERS if s != slot])
            target = self.model[target_slot]

            def op(client: Client, apply: bool) -> None:
                if not apply:
                    client.run(f'SELECT "{name}"')
                    answer["lines"] = client.run(f'UID {kind.upper()} {uid} "{self.names[target_slot]}"')
                    return
                found = re.search(rb"COPYUID \d+ \d+ (\d+)", b"\n".join(answer["lines"]))
                new_uid = int(found.group(1))
                message = folder.messages[uid]
                target.messages[new_uid] = Message(message.ident, message.flags)
                target.max_uid = max(target.max_uid, new_uid)
                if kind == "move":
                    del folder.messages[uid]
            op.pending = (kind, slot, uid, target_slot)
            return op
        if kind == "expunge":
            def op(client: Client, apply: bool) -> None:
                if not apply:
                    client.run(f'SELECT "{name}"')
                    client.run(f"UID STORE {uid} +FLAGS.SILENT (\\Deleted)")
                    client.run(f"UID EXPUNGE {uid}")
                    return
                del folder.messages[uid]
            op.pending = ("expunge", slot, uid)
            return op
        if kind == "rename":
            new_name = slot if name != slot else slot + "-renamed"

            def op(client: Client, apply: bool) -> None:
                if not apply:
                    client.run(f'RENAME "{name}" "{new_name}"')
                    return
                self.names[slot] = new_name
            op.pending = ("rename", slot, name, new_name)
            return op
        if kind == "setacl":
            rights = self.rng.choice(RIGHTS)

            def op(client: Client, apply: bool) -> None:
                if not apply:
                    if rights:
                        client.run(f'SETACL "{name}" user2 {rights}')
                    else:
                        client.run(f'DELETEACL "{name}" user2')
                    return
                folder.acl = rights
            op.pending = ("setacl", slot, folder.acl, rights)
            return op
        value = f"note {self.rng.randint(0, 10**6)}"

        def op(client: Client, apply: bool) -> None:
            if not apply:
                client.run(f'SETMETADATA "{name}" (/private/comment "{value}")')
                return
            folder.comment = value
        op.pending = ("setmetadata", slot, folder.comment, value)
        return op

    # -- after a restart ---------------------------------------------------------------
    def _copy(self, folder: Folder) -> Folder:
        return Folder(folder.uid_validity, {u: Message(m.ident, m.flags) for u, m in folder.messages.items()},
                      folder.highest_modseq, folder.max_uid, folder.acl, folder.comment)

    def _read(self, client: Client, name: str) -> tuple[Folder, dict[int, int]]:
        lines = client.run(f'SELECT "{name}" (CONDSTORE)')
        actual = Folder(_status(lines, "UIDVALIDITY"), highest_modseq=_status(lines, "HIGHESTMODSEQ"))
        uid_next = _status(lines, "UIDNEXT")
        modseqs: dict[int, int] = {}
        fetched = client.run("UID FETCH 1:* (UID FLAGS MODSEQ BODY.PEEK[HEADER.FIELDS (X-Id)])")
        for line in fetched:
            if line.startswith(b"* ") and b" FETCH " in line:
                uid = int(_UID.search(line).group(1))
                actual.messages[uid] = Message(_ID.search(line).group(1).decode(), _flags(line))
                modseqs[uid] = int(_MODSEQ.search(line).group(1))
        acl = b"".join(client.run(f'GETACL "{name}"'))
        m = re.search(rb" user2 (\w+)", acl)
        actual.acl = "".join(sorted(m.group(1).decode())) if m else ""
        meta = b"\r\n".join(client.run(f'GETMETADATA "{name}" /private/comment'))
        m = re.search(rb'/private/comment "([^"]*)"', meta)
        actual.comment = m.group(1).decode() if m else None
        actual.max_uid = uid_next - 1
        return actual, modseqs

    def check(self, in_flight, snapshot: dict[str, Folder]) -> None:
        client = Client(self.port)
        pending = getattr(in_flight, "pending", None)
        kind = pending[0] if pending is not None else None
        if kind == "rename":
            _, slot, old, new = pending
            listed = client.run('LIST "" "*"')
            names = {line.rsplit(b" ", 1)[-1].strip(b'"').decode() for line in listed if line.startswith(b"* LIST")}
            assert (new in names) != (old in names), f"RENAME {old} -> {new} half done: {sorted(names)}"
            self.names[slot] = new if new in names else old
        actuals = {slot: self._read(client, self.names[slot]) for slot in FOLDERS}
        for slot, expected in self.model.items():
            actual, _ = actuals[slot]
            assert actual.uid_validity == expected.uid_validity, f"{slot}: UIDVALIDITY changed"
            assert actual.highest_modseq >= expected.highest_modseq, f"{slot}: HIGHESTMODSEQ went back"
            # UIDs never reused: UIDNEXT stays above every UID ever shown.
            assert actual.max_uid >= expected.max_uid, f"{slot}: UIDNEXT fell to {actual.max_uid + 1}"
        self._compare(pending, actuals)
        for slot, expected in self.model.items():
            actual, modseqs = actuals[slot]
            self.report.checked += len(actual.messages) + 5
            self._check_qresync(client, slot, snapshot[slot], actual, modseqs)
            # Adopt what the server holds: the change in flight is resolved.
            expected.messages = actual.messages
            expected.acl, expected.comment = actual.acl, actual.comment
            expected.highest_modseq = actual.highest_modseq
            expected.max_uid = max(expected.max_uid, max(actual.messages, default=0))
        client.close()

    def _compare(self, pending, actuals: dict[str, tuple[Folder, dict[int, int]]]) -> None:
        """Every acknowledged fact as the model has it; the change in flight
        whole or not at all."""
        kind = pending[0] if pending is not None else None
        for slot, expected in self.model.items():
            actual = actuals[slot][0]
            exp = {u: (m.ident, m.flags) for u, m in expected.messages.items()}
            got = {u: (m.ident, m.flags) for u, m in actual.messages.items()}
            new = {u: v for u, v in got.items() if u not in exp}
            if new:
                # Only the APPEND, COPY or MOVE in flight may have added one message, under a new UID.
                arrived = (kind == "append" and pending[1] == slot) or (kind in ("copy", "move") and pending[3] == slot)
                assert arrived and len(new) == 1, f"{slot}: unacknowledged messages {new}"
                uid, (ident, _) = next(iter(new.items()))
                want = pending[2] if kind == "append" else self.model[pending[1]].messages[pending[2]].ident
                assert ident == want, f"{slot}: {kind} in flight stored {ident}, not {want}"
                assert uid > expected.max_uid, f"{slot}: UID {uid} reused"
                for u in new:
                    del got[u]
            gone = [u for u in exp if u not in got]
            if gone:
                removed = kind in ("move", "expunge") and pending[1] == slot
                assert removed and gone == [pending[2]], f"{slot}: acknowledged messages lost: {gone}"
                got[pending[2]] = exp[pending[2]]
            if kind in ("store", "expunge") and pending[1] == slot and pending[2] in got:
                got[pending[2]] = (got[pending[2]][0], exp[pending[2]][1])  # its flags: old or new, both fine
            assert got == exp, f"{slot}: acknowledged state differs\n  expected {exp}\n  got      {got}"
            if kind == "setacl" and pending[1] == slot:
                assert actual.acl in (pending[2], pending[3]), f"{slot}: SETACL half done: {actual.acl!r}"
            else:
                assert actual.acl == expected.acl, f"{slot}: ACL {actual.acl!r}, acknowledged {expected.acl!r}"
            if kind == "setmetadata" and pending[1] == slot:
                assert actual.comment in (pending[2], pending[3]), f"{slot}: SETMETADATA half done"
            else:
                assert actual.comment == expected.comment, f"{slot}: METADATA {actual.comment!r}"
        if kind == "move":
            _, source, uid, target = pending
            still = uid in actuals[source][0].messages
            arrived = len(actuals[target][0].messages) > len(self.model[target].messages)
            assert still != arrived, (f"MOVE of {source} UID {uid} to {target}: "
                                      + ("in both" if still else "in neither"))

    def _check_qresync(self, client: Client, slot: str, before: Folder, actual: Folder,
                       modseqs: dict[int, int]) -> None:
        """From the state before this round (RFC 7162 §3.2.5): VANISHED and FETCH
        applied to it must give exactly the state now."""
        known = dict(before.messages)
        lines = client.run(f'SELECT "{self.names[slot]}" (QRESYNC ({before.uid_validity} {before.highest_modseq}))')
        for line in lines:
            if line.startswith(b"* VANISHED"):
                for part in line.split()[-1].split(b","):
                    low, _, high = part.partition(b":")
                    for uid in range(int(low), int(high or low) + 1):  # small sets: test data
                        known.pop(uid, None)
            elif line.startswith(b"* ") and b" FETCH " in line:
                uid = int(_UID.search(line).group(1))
                ident = actual.messages[uid].ident if uid in actual.messages else "?"
                known[uid] = Message(ident, _flags(line))
                assert modseqs.get(uid, 0) > before.highest_modseq, f"{slot}: FETCH of unchanged UID {uid}"
        got = {u: (m.ident, m.flags) for u, m in known.items()}
        want = {u: (m.ident, m.flags) for u, m in actual.messages.items()}
        assert got == want, f"{slot}: QRESYNC from before the kill is not exact\n  got  {got}\n  want {want}"
        client.run("UNSELECT")
