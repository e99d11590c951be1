"""The benchmark load generator (benchmarks/loadgen.py, issues 9 and 10) checked against the real server.

The soak's "0 errors" only means something if the generator's tracking is exact against a correct server
and fails when the folder differs from its model. So: each mix, with sessions in their own folders and
sharing folders, ends with 0 errors after verification FETCHes ran; and a change made behind a session's
back (another connection's STORE or EXPUNGE) or a model that is wrong is reported. Every run is bounded by
a number of commands, never by time."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest
import pytest_twisted
from conftest import in_thread
from transcript import Connection

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import gen_cpm  # noqa: E402
import loadgen  # noqa: E402

USERS = [(f"user{n}", "pass") for n in range(1, 6)]


@pytest.mark.parametrize(("mix", "shared"), [("persistent", 1), ("mixed", 1), ("persistent", 2),
                                             ("mixed", 3), ("append", 1)])
@pytest_twisted.ensureDeferred
async def test_each_mix_runs_without_errors_and_verifies(server, mix, shared):
    options = loadgen.Options(mix=mix, clients=5, commands=300, messages=4, verify_every=2, shared=shared,
                              run_id=f"lg-{mix}-{shared}")
    stats = await in_thread(loadgen.run, server.port, USERS, options)
    assert stats.error_samples == [] and stats.errors == 0
    assert stats.commands >= 300
    assert stats.verifications > 0
    if mix != "append":
        assert {"SELECT", "FETCH verify", "FETCH bodies", "STORE", "EXPUNGE", "APPEND"} <= set(stats.latencies)
    assert ("LOGIN" in stats.latencies) == (mix == "mixed")  # a LOGIN per cycle only in the mixed mix


async def _session(port: int, folder: str, stats: loadgen.Stats) -> loadgen.Session:
    """One persistent session in its own folder, filled with 5 messages and selected."""
    options = loadgen.Options(messages=5)
    pool = [message.raw for message in gen_cpm.generate(10)]
    session = loadgen.Session(0, port, "user1", "pass", folder, True, options, pool, stats,
                              loadgen.Budget(float("inf"), None))
    await session.connect()
    await session.create_and_fill(create=True)
    await session.select()
    await session.fetch_flags()
    return session


def _behind_its_back(port: int, folder: bytes, command: bytes) -> None:
    other = Connection(port)
    other.read_line()
    for tag, line in ((b"a", b"LOGIN user1 pass"), (b"b", b"SELECT " + folder), (b"c", command)):
        assert other.command(tag, line)[-1].startswith(tag + b" OK")
    other.close()


@pytest.mark.parametrize(("change", "caught"), [
    (b"UID STORE 2 +FLAGS (\\Flagged)", "UID 2 has flags"),
    (b"UID STORE 3 +FLAGS.SILENT (\\Deleted)", "UID 3 has flags"),
])
@pytest_twisted.ensureDeferred
async def test_a_change_made_behind_the_trackers_back_is_an_error(server, change, caught):
    def scenario() -> loadgen.Stats:
        async def run() -> loadgen.Stats:
            stats = loadgen.Stats()
            session = await _session(server.port, "Tracked", stats)
            await session.verify()
            assert stats.errors == 0, stats.error_samples  # the model was right until now
            _behind_its_back(server.port, b"Tracked", change)
            await session.verify()
            await session.logout()
            return stats
        return asyncio.run(run())

    stats = await in_thread(scenario)
    assert stats.verifications == 2
    assert stats.errors >= 1
    assert any(caught in sample for sample in stats.error_samples), stats.error_samples


@pytest_twisted.ensureDeferred
async def test_a_message_expunged_behind_its_back_is_missing_everywhere_it_is_checked(server):
    def scenario() -> loadgen.Stats:
        async def run() -> loadgen.Stats:
            stats = loadgen.Stats()
            session = await _session(server.port, "Shrunk", stats)
            _behind_its_back(server.port, b"Shrunk", b"UID STORE 4 +FLAGS.SILENT (\\Deleted)")
            _behind_its_back(server.port, b"Shrunk", b"EXPUNGE")
            await session.verify()  # the EXPUNGE reaches the view; the model still holds UID 4
            await session.status()
            await session.logout()
            return stats
        return asyncio.run(run())

    stats = await in_thread(scenario)
    assert any("UID 4 is missing" in sample for sample in stats.error_samples), stats.error_samples
    assert any("STATUS: MESSAGES 4, the model holds 5" in sample for sample in stats.error_samples)


@pytest_twisted.ensureDeferred
async def test_a_wrong_model_is_caught(server):
    """The model, not the server, is wrong: a message it forgot, a flag it invented, a body it misremembers."""
    def scenario() -> tuple[loadgen.Stats, int, int, int]:
        async def run() -> tuple[loadgen.Stats, int, int, int]:
            stats = loadgen.Stats()
            session = await _session(server.port, "Misremembered", stats)
            forgotten, invented, misremembered = sorted(session.owned)[:3]
            del session.owned[forgotten]
            session.owned[invented] |= {b"\\answered"}
            session.bodies[misremembered] = session.bodies[misremembered] + b"x"
            await session.verify()
            session.rng.sample = lambda population, k: [misremembered]  # fetch that body
            await session.fetch_bodies()
            await session.logout()
            return stats, forgotten, invented, misremembered
        return asyncio.run(run())

    stats, forgotten, invented, misremembered = await in_thread(scenario)
    samples = "\n".join(stats.error_samples)
    assert f"UIDs [{forgotten}] are in the folder and not in the model" in samples
    assert f"UID {invented} has flags" in samples
    assert f"FETCH bodies: UID {misremembered} returned" in samples
