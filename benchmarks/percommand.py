"""Server CPU per command: one client, one command at a time, cpmstore beside the reference Dovecot.

    python benchmarks/percommand.py [--target cpmstore|dovecot|both] [--count 2000] [--fsync always|optimized]

For each server: a fresh folder of 50 small messages, selected, then COUNT times each of NOOP, STATUS, LIST,
`UID FETCH 1:* (FLAGS)`, `UID FETCH n (BODY.PEEK[])`, `UID STORE n +FLAGS.SILENT (\\Seen)` (and -FLAGS, in
turn), APPEND of a 20-byte message (COUNT / 2 of those), SELECT of the folder, and COUNT / 2 runs of `STORE 1
+FLAGS.SILENT (\\Deleted)` then EXPUNGE (figures per run of the two). It reads the user and system CPU time of
the process serving the connection (`imapbench.server_pid`: the `twistd` process, or Dovecot's per-session
`imap` process) before and after each, and prints microseconds per command: where a loaded server's time goes,
command by command, without the noise of a load. System time is the kernel working for that process (socket
sends, file creation, fsync). Nothing is asserted; 127.0.0.1 only; the folder is deleted at the end.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import imapbench
import large_folder

MESSAGE = b"Subject: a\r\n\r\nhello!"
FOLDER = "percommand"


def cpu_seconds(pid: int) -> tuple[float, float]:
    """(user, system) CPU seconds of process ``pid`` so far."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tick, int(fields[12]) / tick


def commands(count: int):
    """(name, how many, the command line for the i-th run)."""
    quoted = imapbench.quoted(FOLDER)
    yield "NOOP", count, lambda i: b"NOOP"
    yield "STATUS", count, lambda i: b"STATUS " + quoted + b" (MESSAGES UIDNEXT)"
    yield "LIST", count, lambda i: b'LIST "" "*"'
    yield "UID FETCH 1:* (FLAGS), 50 messages", count, lambda i: b"UID FETCH 1:* (FLAGS)"
    yield "UID FETCH n (BODY.PEEK[])", count, lambda i: b"UID FETCH %d (BODY.PEEK[])" % (1 + i % 50)
    yield "UID STORE n +/-FLAGS.SILENT", count, lambda i: b"UID STORE %d %sFLAGS.SILENT (\\Seen)" % (
        1 + i % 50, b"+" if (i // 50) % 2 == 0 else b"-")
    yield "APPEND, 20 bytes", max(count // 2, 1), lambda i: (
        b"APPEND " + quoted + b" {%d+}\r\n" % len(MESSAGE) + MESSAGE)
    yield "SELECT, 50+ messages", count, lambda i: b"SELECT " + quoted
    # Two commands a run, on the messages the APPEND row added: per run, not per command.
    yield "STORE 1 +FLAGS (\\Deleted) + EXPUNGE", max(count // 2, 1), lambda i: [
        b"STORE 1 +FLAGS.SILENT (\\Deleted)", b"EXPUNGE"]


def measure(target: large_folder.Target, count: int) -> list[tuple[str, float, float, float]]:
    """(command, wall us, user us, system us) per command."""
    conn = imapbench.Connection(target.port)
    conn.login(target.user, target.password)
    conn.command(b"DELETE " + imapbench.quoted(FOLDER), check=False)
    conn.command(b"CREATE " + imapbench.quoted(FOLDER))
    conn.append_pipelined(FOLDER, [MESSAGE] * 50)
    conn.command(b"SELECT " + imapbench.quoted(FOLDER))
    pid = imapbench.server_pid(conn)
    rows = []
    for name, runs, line in commands(count):
        user, system = cpu_seconds(pid)
        started = time.perf_counter()
        for i in range(runs):
            lines = line(i)
            for one in (lines if isinstance(lines, list) else [lines]):
                conn.command(one)
        wall = time.perf_counter() - started
        user_after, system_after = cpu_seconds(pid)
        rows.append((name, wall / runs * 1e6, (user_after - user) / runs * 1e6, (system_after - system) / runs * 1e6))
    conn.command(b"CLOSE")
    conn.command(b"DELETE " + imapbench.quoted(FOLDER))
    conn.logout()
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--target", choices=("cpmstore", "dovecot", "both"), default="both")
    parser.add_argument("--count", type=int, default=2000, help="runs of each command (APPEND: half)")
    parser.add_argument("--fsync", choices=("always", "optimized"), default="always",
                        help="cpmstore's [server] fsync (default always)")
    parser.add_argument("--dovecot-port", type=int, default=10143)
    parser.add_argument("--dovecot-user", default="user5")
    parser.add_argument("--dovecot-password", default="pass")
    args = parser.parse_args(argv)
    results = {}
    for name in (("cpmstore", "dovecot") if args.target == "both" else (args.target,)):
        server = (large_folder.cpmstore_server(False, fsync=args.fsync) if name == "cpmstore"
                  else large_folder.dovecot_server(args.dovecot_port, args.dovecot_user, args.dovecot_password))
        with server as target:
            results[name] = measure(target, args.count)
    names = list(results)
    header = ["command"] + [f"{n} {what}" for n in names for what in ("wall us", "user us", "sys us")]
    rows = [header]
    for i, (command, *_rest) in enumerate(next(iter(results.values()))):
        rows.append([command] + [f"{v:.0f}" for n in names for v in results[n][i][1:]])
    print("\n".join(imapbench.table(rows)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
