"""The crash campaign, long (issue 10): ``python benchmarks/chaos.py --kills 300``.

Runs ``tests/reliability/campaign.py`` against a ``twistd`` subprocess that is
SIGKILLed at random moments under a stream of APPEND, STORE, COPY, MOVE,
EXPUNGE, RENAME, SETACL and SETMETADATA, checking everything after each
restart (see that module). Prints kills survived and facts checked; exits 1
at the first violation, with the seed and round to replay it."""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests" / "reliability"), str(ROOT / "tests" / "server")]

from campaign import Campaign  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=200, help="SIGKILLs to survive (default 200)")
    parser.add_argument("--seed", type=int, default=int(time.time()), help="random seed (default: the clock)")
    parser.add_argument("--max-delay", type=float, default=0.6, help="longest run between kills, seconds")
    parser.add_argument("--fsync", choices=("always", "optimized"), default="always",
                        help="the server's [server] fsync (default always)")
    args = parser.parse_args()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="cpmstore-chaos-") as workdir:
        campaign = Campaign(Path(workdir), args.seed, server_config=f'fsync = "{args.fsync}"')
        campaign.setup()
        try:
            for round_number in range(1, args.kills + 1):
                try:
                    campaign.round(max_delay=args.max_delay)
                except AssertionError as e:
                    print(f"FAILED at kill {round_number} (seed {args.seed}): {e}")
                    return 1
                if round_number % 25 == 0:
                    print(f"{round_number} kills: {campaign.report}", flush=True)
        finally:
            campaign.stop()
    r = campaign.report
    print(f"seed {args.seed}: {r.kills} kills survived in {time.monotonic() - started:.0f} s; "
          f"{r.commands} changes sent, {r.acknowledged} acknowledged, {r.in_flight} in flight at a kill; "
          f"{r.checked} facts checked after restarts; 0 violations")
    return 0


if __name__ == "__main__":
    sys.exit(main())
