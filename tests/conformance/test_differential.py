"""Each scenario of ``scenarios.py`` against the reference Dovecot and
cpmstore: every step's normalized answer must be equal, or the difference must
be listed in ``allowlist.toml`` (scenario + step) with its RFC section. An
allowlist entry that no longer matches a difference fails too, so the file
only ever lists differences that exist."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import pytest_twisted
from twisted.internet import threads

import harness
from scenarios import SCENARIOS, script as scenario_script

ALLOWLIST = harness.load_allowlist(Path(__file__).with_name("allowlist.toml"))


def _dump(name: str, script, dovecot, cpmstore) -> None:
    """CPMSTORE_CONFORMANCE_DUMP=dir writes both raw transcripts, for review."""
    directory = os.environ.get("CPMSTORE_CONFORMANCE_DUMP")
    if not directory:
        return
    Path(directory).mkdir(parents=True, exist_ok=True)
    for server, answers in (("dovecot", dovecot), ("cpmstore", cpmstore)):
        with open(Path(directory) / f"{name}.{server}.txt", "wb") as out:
            for step, lines in zip(script, answers):
                out.write(b"C " + step.label.encode("latin-1") + b"\n")
                out.writelines(b"  " + line + b"\n" for line in lines)


@pytest.mark.parametrize("name", sorted(SCENARIOS))
@pytest_twisted.ensureDeferred
async def test_differential_conformance(name, dovecot, cpmstore_port, run_id):
    script = scenario_script(name)
    box = f"conf-{run_id}-{name}"
    ours_address = ("127.0.0.1", cpmstore_port)

    def both():
        try:
            theirs = harness.run_script(dovecot, harness.DOVECOT_USER, box, script)
        finally:
            harness.cleanup(dovecot, harness.DOVECOT_USER, box)
        ours = harness.run_script(ours_address, harness.CPMSTORE_USER, box, script)
        return theirs, ours

    theirs, ours = await threads.deferToThread(both)
    _dump(name, script, theirs, ours)
    differences = harness.compare(script, theirs, ours, box)
    allowed = {entry.step for entry in ALLOWLIST if entry.scenario == name}
    unexplained = [d for d in differences if d.step.label not in allowed]
    stale = allowed - {d.step.label for d in differences}
    report = [f"{len(unexplained)} unexplained difference(s) in {len(script)} steps:", *map(str, unexplained)]
    if unexplained:
        pytest.fail("\n".join(report), pytrace=False)
    if stale:
        pytest.fail(f"allowlist entries that match no difference any more: {sorted(stale)}", pytrace=False)


def test_allowlist_entries_name_known_scenarios_and_steps():
    for entry in ALLOWLIST:
        assert entry.scenario in SCENARIOS, entry
        labels = {step.label for step in scenario_script(entry.scenario)}
        assert entry.step in labels, entry
