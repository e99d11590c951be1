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


def test_a_stop_waits_for_the_run_under_way_then_says_its_last_word():
    clock = Clock()
    job = Recorded(10, clock)
    job.startService()
    clock.advance(10)
    stopped = job.stopService()
    assert job.events == ["run"] and not stopped.called
    job.runs[0].callback(None)
    assert job.events == ["run", "at_stop"] and stopped.called
    clock.advance(100)
    assert job.events == ["run", "at_stop"]


def test_a_stop_between_runs_ends_at_once():
    clock = Clock()
    job = Recorded(10, clock)
    job.startService()
    clock.advance(10)
    job.runs[0].callback(None)
    stopped = job.stopService()
    assert job.events == ["run", "at_stop"] and stopped.called


def test_a_loop_ended_by_a_failed_run_still_stops():
    clock = Clock()
    job = Recorded(10, clock)
    job.startService()
    clock.advance(10)
    job.runs[0].errback(RuntimeError("disk gone"))  # logged; the loop ends
    stopped = job.stopService()
    assert job.events == ["run", "at_stop"] and stopped.called
    assert stopped.result is None  # the failure was logged, not handed to the server's stop


def test_interval_zero_never_runs():
    clock = Clock()
    job = Recorded(0, clock)
    job.startService()
    clock.advance(1000)
    stopped = job.stopService()
    assert job.events == ["at_stop"] and stopped.called
