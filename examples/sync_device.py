"""A device that keeps a local mirror of every folder of a cpmstore account.

This is the CPM "synchronize with client" and "notification" operations as a
client sees them (docs/sync.rst): on start, one LIST-STATUS (RFC 5819) says
which folders changed since the last run; each changed folder is brought up
to date with SELECT ... (QRESYNC ...) (RFC 7162 §3.2.5); with ``--follow``
the device stays connected and NOTIFY (RFC 5465), or IDLE (RFC 2177), tells
it when to synchronize again.

The mirror lives in ``--state DIR``: ``DIR/state.json`` holds, per folder,
UIDVALIDITY, HIGHESTMODSEQ and per UID the flags and the path of the message
file under ``DIR/messages/``.

    python examples/sync_device.py --host 127.0.0.1 --port 1143 --user demo \\
        --password ... --state ./device-state [--follow] [--seconds N] [-v]

imapclient connects, logs in and idles; the synchronization commands are sent
by ``Device.command`` because imapclient neither sends SELECT parameters nor
parses VANISHED.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import select
import sys
import time
import urllib.parse
from pathlib import Path

from imapclient import IMAPClient
from imapclient.response_parser import parse_response

STATUS_ITEMS = "MESSAGES UIDNEXT UIDVALIDITY HIGHESTMODSEQ"
# RFC 5465: new messages, expunges and flag changes in the selected folder;
# the same, plus folder create/rename/delete, for every other personal folder.
NOTIFY_EVENTS = ("SET STATUS (selected (MessageNew (UID FLAGS) MessageExpunge FlagChange))"
                 " (personal (MessageNew MessageExpunge FlagChange MailboxName SubscriptionChange))")
LITERAL = re.compile(rb"\{(\d+)\+?\}$")
# What each command answers itself; anything else is a change pushed by the server.
OWN_RESPONSES = {"SELECT": {b"FLAGS", b"OK", b"EXISTS", b"RECENT", b"VANISHED", b"FETCH"},
                 "UID": {b"FETCH", b"VANISHED"}, "LIST": {b"LIST", b"STATUS"}, "STATUS": {b"STATUS"}}


def text(value: object) -> str:
    """An atom or string from parse_response (which turns digit-only atoms into ints)."""
    return value.decode() if isinstance(value, bytes) else str(value)


def quoted(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def uid_set(uids: list[int]) -> str:
    """Sorted UIDs as a compact RFC 3501 sequence set: 1:3,7,9:10."""
    ranges: list[list[int]] = []
    for uid in sorted(uids):
        if ranges and uid == ranges[-1][1] + 1:
            ranges[-1][1] = uid
        else:
            ranges.append([uid, uid])
    return ",".join(str(a) if a == b else f"{a}:{b}" for a, b in ranges)


def in_uid_set(uid: int, spec: str) -> bool:
    for part in spec.split(","):
        low, _, high = part.partition(":")
        a, b = int(low), int(high or low)
        if min(a, b) <= uid <= max(a, b):
            return True
    return False


class Device:
    """One connection plus the mirror it keeps in ``state_dir``."""

    def __init__(self, client: IMAPClient, state_dir: Path, verbose: bool = False) -> None:
        self.client, self.imap, self.dir, self.verbose = client, client._imap, Path(state_dir), verbose
        path = self.dir / "state.json"
        self.state = json.loads(path.read_text()) if path.exists() else {"folders": {}}
        self.pushed: list[tuple] = []  # server pushes seen while waiting for a command's answer
        self.tags = 0
        self.selected: str | None = None

    # -- wire ---------------------------------------------------------------
    def read_response(self) -> list:
        """One response, literals included, in the form parse_response takes."""
        parts, line = [], self.imap._get_line()
        while (m := LITERAL.search(line)):
            parts.append((line, self.imap.read(int(m.group(1)))))
            line = self.imap._get_line()
        if self.verbose:
            first = parts[0][0] if parts else line
            print("S:", first.decode(errors="replace") + (" ..." if parts else ""), file=sys.stderr)
        return parts + [line]

    def parse(self, parts: list) -> tuple:
        """``* 3 EXISTS`` -> (b"EXISTS", 3, ...); ``* OK [...]`` kept raw (it is not a list)."""
        first = parts[0][0] if isinstance(parts[0], tuple) else parts[0]
        words = first.split(b" ", 3)
        if words[1] in (b"OK", b"NO", b"BAD", b"BYE", b"FLAGS", b"ENABLED", b"CAPABILITY"):
            return (words[1], first)
        stripped = [(p[0][2:], p[1]) if isinstance(p, tuple) else p[2:] for p in parts[:1]] + parts[1:]
        fields = parse_response(stripped)
        return (fields[1],) + fields[:1] + fields[2:] if isinstance(fields[0], int) else fields

    def command(self, line: str) -> list[tuple]:
        """Send one command; return its own untagged responses, in order.
        Pushes that arrive meanwhile (RFC 5465: at any time) go to ``self.pushed``."""
        self.tags += 1
        tag = f"s{self.tags}".encode()
        if self.verbose:
            print("C:", line, file=sys.stderr)
        self.imap.send(tag + b" " + line.encode() + b"\r\n")
        own, mine = OWN_RESPONSES.get(line.split()[0], set()), []
        while True:
            parts = self.read_response()
            first = parts[0][0] if isinstance(parts[0], tuple) else parts[0]
            if first.startswith(tag + b" "):
                if not first.startswith(tag + b" OK"):
                    raise RuntimeError(first.decode(errors="replace"))
                return mine
            if first.startswith(b"* "):
                response = self.parse(parts)
                (mine if response[0] in own else self.pushed).append(response)

    # -- mirror -------------------------------------------------------------
    def save(self) -> None:
        # Write then rename: a crash leaves the previous mirror, never half of one.
        tmp = self.dir / "state.json.tmp"
        tmp.write_text(json.dumps(self.state, indent=1, sort_keys=True))
        os.replace(tmp, self.dir / "state.json")

    def drop(self, name: str) -> None:
        for message in self.state["folders"].pop(name, {"messages": {}})["messages"].values():
            (self.dir / message["file"]).unlink(missing_ok=True)

    def apply(self, name: str, responses: list[tuple]) -> None:
        """FETCH and VANISHED, whoever asked for them, to the mirror of ``name``."""
        folder = self.state["folders"][name]
        messages = folder["messages"]
        for response in responses:
            if response[0] == b"VANISHED":  # RFC 7162 §3.2.10, with or without (EARLIER)
                spec = text(response[-1])
                for uid in [u for u in messages if in_uid_set(int(u), spec)]:
                    (self.dir / messages.pop(uid)["file"]).unlink(missing_ok=True)
            elif response[0] == b"FETCH":
                items = dict(zip(response[2][::2], response[2][1::2]))
                uid = str(items.get(b"UID", ""))
                # \Recent belongs to one session (RFC 3501 §2.3.2), not to the message.
                flags = sorted(text(f) for f in items.get(b"FLAGS", ()) if f != b"\\Recent")
                if uid in messages and b"FLAGS" in items:
                    messages[uid]["flags"] = flags
                elif uid and b"BODY[]" in items:
                    path = Path("messages") / urllib.parse.quote(name, safe="") / str(folder["uidvalidity"]) / f"{uid}.eml"
                    (self.dir / path).parent.mkdir(parents=True, exist_ok=True)
                    (self.dir / path).write_bytes(items[b"BODY[]"])
                    messages[uid] = {"flags": flags, "file": str(path)}

    # -- synchronization ----------------------------------------------------
    def list_status(self) -> dict[str, dict[str, int]]:
        """Every folder with its STATUS in one round trip (RFC 5258 §3, RFC 5819 §2)."""
        responses = self.command(f'LIST "" "*" RETURN (STATUS ({STATUS_ITEMS}))')
        listed = {text(r[3]) for r in responses if r[0] == b"LIST" and b"\\Noselect" not in r[1]
                  and b"\\NonExistent" not in r[1]}
        folders = {}
        for response in responses:
            items = dict(zip(response[2][::2], response[2][1::2])) if response[0] == b"STATUS" else {}
            if text(response[1]) in listed and b"UIDVALIDITY" in items:
                folders[text(response[1])] = {text(k).lower(): v for k, v in items.items()}
        # A NOTIFY push (RFC 5465) arriving amid the reply looks like
        # part of it; a STATUS without UIDVALIDITY or a LIST without its STATUS
        # is such a push: keep it, so that a following pass looks again.
        self.pushed += [r for r in responses if (
            (r[0] == b"STATUS" and text(r[1]) not in folders)
            or (r[0] == b"LIST" and text(r[3]) not in folders and b"\\Noselect" not in r[1]))]
        return folders

    def sync_all(self) -> list[str]:
        """One pass: LIST-STATUS, then QRESYNC for each folder that changed (cpm-formats.md §7)."""
        server = self.list_status()
        local = self.state["folders"]
        for gone in [n for n in local if n not in server]:
            # RENAME keeps UIDVALIDITY and UIDs (RFC 3501 §6.3.5, cpmstore DESIGN §1):
            # a new name with a vanished folder's UIDVALIDITY is that folder, moved.
            moved = [n for n, s in server.items() if n not in local and s["uidvalidity"] == local[gone]["uidvalidity"]]
            if len(moved) == 1:
                local[moved[0]] = local.pop(gone)
            else:
                self.drop(gone)
        changed = []
        for name, status in server.items():
            mirror = local.get(name)
            if mirror and mirror["uidvalidity"] != status["uidvalidity"]:
                self.drop(name)  # RFC 3501 §2.3.1.1: old UIDs mean nothing now
                mirror = None
            if mirror is None and status["messages"] == 0:
                local[name] = {"uidvalidity": status["uidvalidity"], "highestmodseq": status["highestmodseq"], "messages": {}}
            elif mirror is None or mirror["highestmodseq"] != status["highestmodseq"]:
                try:
                    self.sync_folder(name)
                    changed.append(name)
                except RuntimeError as error:  # e.g. deleted since the LIST: NO [NONEXISTENT]
                    self.pushed.append(("NO", str(error)))
        self.save()
        return changed

    def sync_folder(self, name: str) -> None:
        mirror = self.state["folders"].get(name)
        if mirror:
            # RFC 7162 §3.2.5: the server answers with VANISHED (EARLIER) for the
            # known UIDs expunged since our HIGHESTMODSEQ and FETCH (FLAGS MODSEQ)
            # for the known UIDs changed since; new UIDs are fetched below.
            known = uid_set([int(u) for u in mirror["messages"]])
            params = f" (QRESYNC ({mirror['uidvalidity']} {mirror['highestmodseq']}{' ' + known if known else ''}))"
        else:
            params = " (CONDSTORE)"
        responses = self.command(f"SELECT {quoted(name)}{params}")
        codes = dict(re.findall(rb"\[(UIDVALIDITY|HIGHESTMODSEQ) (\d+)\]", b" ".join(r[1] for r in responses if r[0] == b"OK")))
        uidvalidity, highest = int(codes[b"UIDVALIDITY"]), int(codes[b"HIGHESTMODSEQ"])
        if mirror and mirror["uidvalidity"] != uidvalidity:  # changed since our LIST
            self.drop(name)
            mirror = None
        if mirror is None:
            mirror = self.state["folders"][name] = {"uidvalidity": uidvalidity, "highestmodseq": 0, "messages": {}}
        self.apply(name, responses)
        # New messages: every UID above the highest we hold (RFC 3501 §6.4.8).
        top = max((int(u) for u in mirror["messages"]), default=0)
        # "n:*" also matches the last message when none is newer; apply() then
        # only refreshes its flags.
        self.apply(name, self.command(f"UID FETCH {top + 1}:* (UID FLAGS BODY.PEEK[])"))
        # Flag changes and expunges that raced with the commands above were
        # applied too, but we keep the HIGHESTMODSEQ of the SELECT: the next
        # pass asks again from there, so nothing is ever skipped.
        mirror["highestmodseq"] = highest
        self.selected = name
        self.save()

    # -- live notification --------------------------------------------------
    def readable(self, timeout: float) -> bool:
        """Data waiting, in imaplib's buffer or on the socket."""
        sock = self.imap.sock
        previous = sock.gettimeout()
        sock.setblocking(False)
        try:
            buffered = self.imap.file.peek(1)
        except BlockingIOError:
            buffered = b""
        finally:
            sock.settimeout(previous)
        return bool(buffered) or bool(select.select([sock], [], [], max(timeout, 0))[0])

    def follow(self, seconds: float | None, use_idle: bool = False) -> None:
        """Stay connected; each notification triggers a synchronization pass
        (CPM: the server MAY trigger the client to synchronize)."""
        deadline = time.monotonic() + seconds if seconds is not None else float("inf")
        notify = not use_idle and self.client.has_capability("NOTIFY")
        if notify:
            # Its STATUS replies land in self.pushed: a change made since our
            # last pass is in them, so one more pass follows at once.
            self.command("NOTIFY " + NOTIFY_EVENTS)
        elif self.selected is None and "INBOX" in self.state["folders"]:
            self.sync_folder("INBOX")  # IDLE needs a selected folder to report on
        while (left := deadline - time.monotonic()) > 0:
            if self.pushed:
                if self.verbose:
                    print("pushed:", self.pushed, file=sys.stderr)
                self.pushed.clear()
                print("changed:", self.sync_all() or "-")
            elif notify:
                if self.readable(min(left, 60)):
                    while self.readable(0.1):  # a burst of changes: one pass for all of it
                        self.pushed.append(self.parse(self.read_response()))
            else:
                # RFC 2177: IDLE reports only the selected folder, so other
                # folders are checked by a LIST-STATUS pass every poll.
                self.client.idle()
                events = self.client.idle_check(timeout=min(left, 5))
                self.client.idle_done()
                self.pushed.append(("IDLE", events))
        if self.pushed:  # what arrived just before the deadline
            self.sync_all()


def connect(host: str, port: int, user: str, password: str, starttls: bool = False) -> IMAPClient:
    client = IMAPClient(host, port=port, ssl=False, timeout=30)
    if starttls:
        client.starttls()
    client.login(user, password)
    # RFC 7162 §3.2.3: QRESYNC must be enabled before SELECT takes (QRESYNC ...);
    # it also makes the server report expunges as VANISHED with UIDs.
    client.enable("QRESYNC")
    return client


def main(argv: list[str] | None = None) -> Device:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=1143)
    parser.add_argument("--user", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--state", required=True, type=Path, help="directory of the local mirror")
    parser.add_argument("--starttls", action="store_true")
    parser.add_argument("--follow", action="store_true", help="stay connected and apply changes live")
    parser.add_argument("--seconds", type=float, help="with --follow: stop after this long")
    parser.add_argument("--idle", action="store_true", help="with --follow: use IDLE even if NOTIFY is offered")
    parser.add_argument("-v", "--verbose", action="store_true", help="print the IMAP exchange on stderr")
    args = parser.parse_args(argv)
    args.state.mkdir(parents=True, exist_ok=True)
    client = connect(args.host, args.port, args.user, args.password, args.starttls)
    device = Device(client, args.state, args.verbose)
    try:
        print("changed:", device.sync_all() or "-")
        if args.follow:
            device.follow(args.seconds, use_idle=args.idle)
    except KeyboardInterrupt:
        pass
    finally:
        device.save()
        try:
            client.logout()
        except Exception:  # interrupted mid-command: the connection is unusable anyway
            pass
    return device


if __name__ == "__main__":
    main()
