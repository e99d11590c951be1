"""Soak (issue 10): the load generator's persistent mix against cpmstore for a long time, watching memory.

    python benchmarks/soak.py [--clients 100] [--duration 600] [--verify-every 5] [--processes 1]

It owns: starting cpmstore (a `twistd` subprocess, benchmarks/large_folder.cpmstore_server), running
benchmarks/loadgen.py's persistent mix with state tracking and verification FETCHes against it, sampling
the server's resident set size (VmRSS in /proc/<pid>/status) every 10 s, and printing commands, errors,
RSS at start / after the warm-up / at the end and the slope after the warm-up. It exits 1 on any error
(what loadgen counts: an unexpected NO/BAD, a lost connection, a UID, flag or body that differs from the
model). It never judges the RSS figures itself: "flat" is for the reader of the slope. Linux only.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

import imapbench
import large_folder
import loadgen


def rss_kib(pid: int) -> int:
    """VmRSS: the process's resident set size now (imapbench.peak_rss_kib reads the peak, VmHWM)."""
    match = re.search(r"^VmRSS:\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text(), re.MULTILINE)
    if match is None:
        raise LookupError(f"no VmRSS for pid {pid}")
    return int(match.group(1))


def slope_kib_per_minute(samples: list[tuple[float, int]]) -> float:
    """Least-squares slope of (seconds, KiB) samples, in KiB per minute."""
    if len(samples) < 2:
        return 0.0
    mean_t = sum(t for t, _ in samples) / len(samples)
    mean_r = sum(r for _, r in samples) / len(samples)
    spread = sum((t - mean_t) ** 2 for t, _ in samples)
    return 60 * sum((t - mean_t) * (r - mean_r) for t, r in samples) / spread if spread else 0.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    loadgen.add_load_options(parser, clients=100, duration=600.0, mix="persistent")
    parser.add_argument("--messages", type=int, default=20, help="messages per folder before the load (20)")
    parser.add_argument("--warmup", type=float, default=60.0, help="seconds before the RSS is expected flat (60)")
    parser.add_argument("--sample-every", type=float, default=10.0, help="seconds between RSS samples (10)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    if min(args.clients, args.shared, args.processes, args.verify_every) < 1 or args.messages < 2:
        parser.error("--clients, --shared, --processes, --verify-every must be >= 1 and --messages >= 2")
    args.keep = False
    options = loadgen.options_from(args)

    with large_folder.cpmstore_server(keep=False) as target:
        users = loadgen.add_cpmstore_users(target, -(-options.clients // options.shared))
        probe = imapbench.Connection(target.port)
        pid = imapbench.server_pid(probe)
        probe.logout()
        idle = rss_kib(pid)
        samples: list[tuple[float, int]] = []
        first: list[float] = []

        def sample() -> None:
            now = time.monotonic()
            first[:] = first or [now]
            samples.append((now - first[0], rss_kib(pid)))
            print(f"  t={samples[-1][0]:5.0f}s  RSS {samples[-1][1] / 1024:7.1f} MiB", flush=True)

        print(f"cpmstore pid {pid}, RSS {idle / 1024:.1f} MiB idle; {options.clients} clients, persistent mix, "
              f"{options.duration:.0f} s, verification every {options.verify_every} cycles", flush=True)
        cpu_before, started = loadgen.tree_cpu_seconds(pid), time.monotonic()
        stats = loadgen.run(target.port, users, options, sample, args.sample_every)
        server_cpu = (loadgen.tree_cpu_seconds(pid) - cpu_before) / (time.monotonic() - started)
        sample()  # the end, after the sessions logged out

    settled = [s for s in samples if s[0] >= args.warmup] or samples[-1:]
    rows = [
        ("figure", "value"),
        ("commands", str(stats.commands)),
        ("commands/s", f"{stats.commands / stats.seconds:.0f}" if stats.seconds else "-"),
        ("cycles", str(stats.cycles)),
        ("verifications", str(stats.verifications)),
        ("errors", str(stats.errors)),
        ("RSS idle, before the sessions (MiB)", f"{idle / 1024:.1f}"),
        ("RSS at load start (MiB)", f"{samples[0][1] / 1024:.1f}"),
        (f"RSS after warm-up, t={settled[0][0]:.0f}s (MiB)", f"{settled[0][1] / 1024:.1f}"),
        (f"RSS at the end, t={samples[-1][0]:.0f}s (MiB)", f"{samples[-1][1] / 1024:.1f}"),
        ("RSS max after warm-up (MiB)", f"{max(r for _, r in settled) / 1024:.1f}"),
        ("slope after warm-up (KiB/min)", f"{slope_kib_per_minute(settled):.1f}"),
        ("server CPU % of one core (whole run)", f"{100 * server_cpu:.0f}"),
        ("generator CPU % of one core", f"{100 * stats.cpu_seconds / stats.seconds:.0f}" if stats.seconds else "-"),
    ]
    print("\n".join(imapbench.table(rows)))
    for text in stats.error_samples:
        print(f"error: {text}")
    return 1 if stats.errors else 0


if __name__ == "__main__":
    sys.exit(main())
