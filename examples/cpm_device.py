"""An RCS device that keeps its conversations in a cpmstore account the way
the Orange RCS-CMS client does (shared/cpm-formats.md §5.3 and §7).

docs/cpm.rst explains every exchange. One run:

1. synchronizes (``LIST "" "Default/*" RETURN (STATUS (...))``; per folder the
   UIDVALIDITY check, ``SELECT f (CONDSTORE)``,
   ``UID FETCH 1:<max local UID> (UID FLAGS) (CHANGEDSINCE m)``, a header pass
   over the new UIDs, then the bodies of those it does not hold yet);
2. pushes an SMS it sent (``--sms TEL TEXT``): ``CREATE "Default/TEL"`` the
   first time, then ``APPEND "Default/TEL" (\\Seen) {n}``;
3. creates a contact's folder before the first message to it (``--contact TEL``);
4. reports a read (``--read FOLDER:UID``): ``UID STORE uid +FLAGS (\\Seen)``.

The mirror in ``--state DIR`` has the layout of examples/sync_device.py
(``state.json`` plus message files), whose wire helpers this reuses; unlike
that example this client never enables QRESYNC, as the RCS clients do not.

    python examples/cpm_device.py --user demo --password ... --state ./phone \\
        [--sms tel:+33612345678 "On my way"] [--contact tel:+33687654321] \\
        [--read Default/tel:+33612345678:3] [-v]
"""

from __future__ import annotations

import argparse
import email.parser
import email.policy
import re
import sys
import time
import urllib.parse
from pathlib import Path

from imapclient import IMAPClient

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sync_device import STATUS_ITEMS, Device, quoted, text, uid_set  # noqa: E402

ROOT = "Default"  # cpm-formats.md §2.2: the root the Orange client syncs
# What says "this object is one I already hold" (cpm-formats.md §7 step 4).
IDENTITY_FIELDS = ("IMDN-Message-ID", "Message-Correlator")
HEADERS = email.parser.BytesHeaderParser(policy=email.policy.compat32)


def identity(header_block: bytes) -> str | None:
    headers = HEADERS.parsebytes(header_block)
    for name in IDENTITY_FIELDS:
        if headers[name]:
            return f"{name.lower()}:{headers[name].strip().strip(chr(34))}"
    return None


def sms(sender: str, to: str, body: str) -> bytes:
    """An SMS object as the client pushes it (cpm-formats.md §3.6)."""
    correlator = " ".join(body.splitlines())[:160]
    data = body.encode()
    return (f"Date: {time.strftime('%a, %d %b %Y %H:%M:%S +0000', time.gmtime())}\r\n"
            f"From: {sender}\r\nTo: {to}\r\nMessage-Context: pager-message\r\n"
            f"Message-Correlator: {correlator}\r\nContent-Type: message/cpim\r\n\r\n"
            f"From: <{sender}>\r\nTo: <{to}>\r\n\r\n"
            f"Content-type: text/plain;charset=utf-8\r\nContent-length: {len(data)}\r\n\r\n").encode() + data


class CpmDevice(Device):
    """The Orange sync strategy over the mirror of sync_device.Device."""

    def __init__(self, client: IMAPClient, state_dir: Path, verbose: bool = False) -> None:
        super().__init__(client, state_dir, verbose)
        self.bodies_fetched: dict[str, list[int]] = {}  # per folder, this run: what the tests count

    def list_status(self) -> dict[str, dict[str, int]]:
        responses = self.command(f'LIST "" "{ROOT}/*" RETURN (STATUS ({STATUS_ITEMS}))')
        return {text(r[1]): {text(k).lower(): v for k, v in zip(r[2][::2], r[2][1::2])}
                for r in responses if r[0] == b"STATUS"}

    def sync_all(self) -> list[str]:
        """cpm-formats.md §7 steps 1-4; returns the folders it selected."""
        server, local = self.list_status(), self.state["folders"]
        for gone in [n for n in local if n not in server]:
            self.drop(gone)
        changed = []
        for name, status in server.items():
            mirror = local.get(name)
            if mirror and mirror["uidvalidity"] != status["uidvalidity"]:
                self.drop(name)  # RFC 3501 §2.3.1.1: the old UIDs mean nothing now
                mirror = None
            if mirror is None and status["messages"] == 0:
                local[name] = {"uidvalidity": status["uidvalidity"], "highestmodseq": status["highestmodseq"], "messages": {}}
            elif mirror is None or mirror["highestmodseq"] != status["highestmodseq"]:
                self.sync_folder(name)
                changed.append(name)
        self.save()
        return changed

    def select(self, name: str) -> dict[bytes, int]:
        """SELECT (CONDSTORE) (RFC 7162 §3.1.8); its UIDVALIDITY, UIDNEXT,
        HIGHESTMODSEQ and EXISTS."""
        responses = self.command(f"SELECT {quoted(name)} (CONDSTORE)")
        raw = b" ".join(r[1] for r in responses if r[0] == b"OK")
        codes = {k: int(v) for k, v in re.findall(rb"\[(UIDVALIDITY|UIDNEXT|HIGHESTMODSEQ) (\d+)\]", raw)}
        codes[b"EXISTS"] = next(r[1] for r in responses if r[0] == b"EXISTS")
        self.selected = name
        return codes

    def sync_folder(self, name: str) -> None:
        codes = self.select(name)
        mirror = self.state["folders"].get(name)
        if mirror and mirror["uidvalidity"] != codes[b"UIDVALIDITY"]:  # changed since the LIST
            self.drop(name)
            mirror = None
        if mirror is None:
            mirror = self.state["folders"][name] = {"uidvalidity": codes[b"UIDVALIDITY"], "highestmodseq": 0, "messages": {}}
        messages = mirror["messages"]
        top = max((int(u) for u in messages), default=0)
        if top:
            # Flags of the UIDs held, changed since the last pass (RFC 7162 §3.1.4).
            self.apply(name, self.command(f"UID FETCH 1:{top} (UID FLAGS) (CHANGEDSINCE {mirror['highestmodseq']})"))
        wanted = []
        if top + 1 < codes[b"UIDNEXT"]:
            # Headers first: a new UID holding an object already here (pushed
            # by this device, its APPENDUID lost) is adopted, not downloaded.
            held = {m.get("id"): m for m in messages.values() if m.get("id")}
            for response in self.command(f"UID FETCH {top + 1}:{codes[b'UIDNEXT']} (UID FLAGS MODSEQ BODY.PEEK[HEADER])"):
                items = dict(zip(response[2][::2], response[2][1::2]))
                key = identity(items.get(b"BODY[HEADER]", b""))
                if key in held:
                    flags = sorted(text(f) for f in items[b"FLAGS"] if f != b"\\Recent")
                    messages[str(items[b"UID"])] = dict(held[key], flags=flags)
                elif b"UID" in items:
                    wanted.append(items[b"UID"])
        if wanted:
            self.apply(name, self.command(f"UID FETCH {uid_set(wanted)} (UID FLAGS BODY.PEEK[])"))
            for uid in wanted:
                message = messages[str(uid)]
                message["id"] = identity((self.dir / message["file"]).read_bytes())
            self.bodies_fetched.setdefault(name, []).extend(sorted(wanted))
        if len(messages) != codes[b"EXISTS"] and top:
            # Expunged by someone else: the RCS clients never notice (they
            # expect \Deleted objects to stay), so ask which held UIDs remain.
            alive = {str(r[2][r[2].index(b"UID") + 1]) for r in self.command(f"UID FETCH 1:{top} (UID)") if r[0] == b"FETCH"}
            for uid in [u for u in messages if int(u) <= top and u not in alive]:
                (self.dir / messages.pop(uid)["file"]).unlink(missing_ok=True)
        mirror["highestmodseq"] = codes[b"HIGHESTMODSEQ"]
        self.save()

    # -- what the user does on the phone ------------------------------------
    def create_folder(self, name: str) -> None:
        try:
            self.command(f"CREATE {quoted(name)}")
        except RuntimeError as error:
            if "ALREADYEXISTS" not in str(error):
                raise
        if name not in self.state["folders"]:
            # Recorded now, empty, so the next pass does not SELECT it for nothing.
            answer = self.command(f"STATUS {quoted(name)} (MESSAGES UIDVALIDITY HIGHESTMODSEQ)")
            status = next(r for r in answer if r[0] == b"STATUS" and text(r[1]) == name)
            # A NOTIFY push for another folder may arrive amid the answer: it stays a push.
            self.pushed += [r for r in answer if r is not status]
            items = {text(k).lower(): v for k, v in zip(status[2][::2], status[2][1::2])}
            if items["messages"] == 0:
                self.state["folders"][name] = {"uidvalidity": items["uidvalidity"],
                                               "highestmodseq": items["highestmodseq"], "messages": {}}

    def push_sms(self, own: str, to: str, body: str) -> int:
        """APPEND with (\\Seen): a sent SMS is read (cpm-formats.md §3.6). The
        APPENDUID code (RFC 4315) tells the UID, so it is never downloaded back."""
        folder = f"{ROOT}/{to}"
        if folder not in self.state["folders"]:
            self.create_folder(folder)
        data = sms(own, to, body)
        answer = self.client.append(folder, data, flags=[b"\\Seen"])
        uidvalidity, uid = map(int, re.search(rb"\[APPENDUID (\d+) (\d+)\]", answer).groups())
        mirror = self.state["folders"].get(folder)
        if mirror is None or mirror["uidvalidity"] != uidvalidity:
            self.drop(folder)
            mirror = self.state["folders"][folder] = {"uidvalidity": uidvalidity, "highestmodseq": 0, "messages": {}}
        path = Path("messages") / urllib.parse.quote(folder, safe="") / str(uidvalidity) / f"{uid}.eml"
        (self.dir / path).parent.mkdir(parents=True, exist_ok=True)
        (self.dir / path).write_bytes(data)
        mirror["messages"][str(uid)] = {"flags": ["\\Seen"], "file": str(path), "id": identity(data)}
        self.save()
        return uid

    def report_read(self, folder: str, uid: int) -> None:
        """The read report as a flag (cpm-formats.md §4): UID STORE +FLAGS (\\Seen)."""
        if self.selected != folder:
            self.select(folder)
        self.apply(folder, self.command(f"UID STORE {uid} +FLAGS (\\Seen)"))
        self.save()


def main(argv: list[str] | None = None) -> CpmDevice:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=1143)
    parser.add_argument("--user", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--state", required=True, type=Path, help="directory of the local mirror")
    parser.add_argument("--own", default="tel:+33600000000", help="this phone's number, the From of pushed SMS")
    parser.add_argument("--sms", nargs=2, action="append", default=[], metavar=("TEL", "TEXT"))
    parser.add_argument("--contact", action="append", default=[], metavar="TEL")
    parser.add_argument("--read", action="append", default=[], metavar="FOLDER:UID")
    parser.add_argument("-v", "--verbose", action="store_true", help="print the IMAP exchange on stderr")
    args = parser.parse_args(argv)
    args.state.mkdir(parents=True, exist_ok=True)
    client = IMAPClient(args.host, port=args.port, ssl=False, timeout=30)
    client.login(args.user, args.password)
    device = CpmDevice(client, args.state, args.verbose)
    try:
        print("changed:", device.sync_all() or "-")
        for to, body in args.sms:
            print("pushed:", to, device.push_sms(args.own, to, body))
        for tel in args.contact:
            device.create_folder(f"{ROOT}/{tel}")
        for spec in args.read:
            folder, _, uid = spec.rpartition(":")
            device.report_read(folder, int(uid))
    finally:
        device.save()
        client.logout()
    return device


if __name__ == "__main__":
    main()
