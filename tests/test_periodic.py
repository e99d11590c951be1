"""PeriodicService, the shape of every background job (backups, unloading,
memory trim, retention): runs on the clock, and a stop waits for the run
under way before the job's last word (``at_stop``)."""

from __future__ import annotations

from twisted.internet.defer import Deferred, succeed
from twisted.internet.task import Clock

from cpmstore.periodic import PeriodicService


class Recorded(PeriodicService):
    """A job whose runs end when the test says so."""

    def __init__(self, interval: float, clock: Clock) -> None:
        super().__init__(interval, clock)
        self.runs: list[Deferred] = []
        self.events: list[str] = []

    def run_once(self) -> Deferred:
        self.events.append("run")
        self.runs.append(Deferred())
        return self.runs[-1]

    def at_stop(self) -> Deferred:
        self.events.append("at_stop")
        return succeed(None)


def started(interval: float, after: float = 10) -> Recorded:
    """A job started on a clock of its own, ``after`` seconds gone since
    (with ``interval`` 10, its first run is under way)."""
    job = Recorded(interval, Clock())
    job.startService()
    job.clock.advance(after)
    return job


def test_a_stop_waits_for_the_run_under_way_then_says_its_last_word():
    job = started(10)
    stopped = job.stopService()
    assert job.events == ["run"] and not stopped.called
    job.runs[0].callback(None)
    assert job.events == ["run", "at_stop"] and stopped.called
    job.clock.advance(100)
    assert job.events == ["run", "at_stop"]


def test_a_stop_between_runs_ends_at_once():
    job = started(10)
    job.runs[0].callback(None)
    stopped = job.stopService()
    assert job.events == ["run", "at_stop"] and stopped.called


def test_a_loop_ended_by_a_failed_run_still_stops():
    job = started(10)
    job.runs[0].errback(RuntimeError("disk gone"))  # logged; the loop ends
    stopped = job.stopService()
    assert job.events == ["run", "at_stop"] and stopped.called
    assert stopped.result is None  # the failure was logged, not handed to the server's stop


def test_interval_zero_never_runs():
    job = started(0, after=1000)
    stopped = job.stopService()
    assert job.events == ["at_stop"] and stopped.called
