"""benchmarks/run.py's pure parts (issue 9): the ratio, whether a target is met, the table, the JSON it writes
and the stored results the plot reads. No server and no timing: the figures are made up here, the
arithmetic and the files are what is checked."""

from __future__ import annotations

import dataclasses
import datetime
import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import loadgen  # noqa: E402
import run as bench_run  # noqa: E402

AT_LEAST_1 = bench_run.Goal(">= 1.0x", "ratio_min", 1.0)
AT_MOST_1_5 = bench_run.Goal("<= 1.5x time", "ratio_max", 1.5)
AT_MOST_20 = bench_run.Goal("10,000 connections, <= 20 KB each", "value_max", 20.0)
MACHINE = {"cores": 2, "kernel": "6.18", "python": "3.11.7", "dovecot": "2.3.19.1", "cpmstore_commit": "abc"}


@pytest.mark.parametrize(("goal", "cpmstore", "dovecot", "conditions", "expected"), [
    (AT_LEAST_1, 1219.0, 639.0, (), True),  # a rate: more is better
    (AT_LEAST_1, 500.0, 639.0, (), False),
    (AT_LEAST_1, 639.0, 639.0, (), True),  # the bound itself meets it
    (AT_LEAST_1, 1219.0, 639.0, (("cpmstore 0 errors", False),), False),  # a side condition fails
    (AT_MOST_1_5, 0.3, 0.2, (), True),  # a time: less is better
    (AT_MOST_1_5, 0.31, 0.2, (), False),
    (AT_MOST_20, 10.6, 5425.0, (), True),  # an absolute limit: Dovecot's figure does not count
    (AT_MOST_20, 20.5, 5425.0, (), False),
    (AT_MOST_20, 10.6, None, (), True),
    (AT_LEAST_1, 1219.0, None, (), None),  # not measured: neither met nor failed
    (AT_LEAST_1, None, 639.0, (), None),
    (AT_MOST_1_5, 0.3, 0.0, (), None),
])
def test_met(goal, cpmstore, dovecot, conditions, expected):
    assert bench_run.met(goal, cpmstore, dovecot, conditions) is expected


def test_ratio_is_cpmstore_over_dovecot():
    assert bench_run.ratio(3.0, 2.0) == 1.5
    assert bench_run.ratio(None, 2.0) is None and bench_run.ratio(3.0, None) is None
    assert bench_run.ratio(3.0, 0.0) is None


def _rows() -> list[bench_run.Row]:
    return [
        bench_run.Row("mixed", "mixed workload, 10 clients, 60 s", "commands/s", 639.0, 1219.0,
                      bench_run.Goal(">= 1.0x, 0 errors", "ratio_min", 1.0), (("cpmstore 0 errors", True),),
                      dovecot_detail="0 errors", cpmstore_detail="0 errors"),
        bench_run.Row("select-warm", "SELECT, warm", "s", 0.2, 0.4, AT_MOST_1_5),
        bench_run.Row("idle", "idle connections", "KB/connection", 5425.0, 10.6, AT_MOST_20),
        bench_run.Row("resync", "resync", "s", 0.5, None, AT_MOST_1_5),
        bench_run.Row("select-first", "SELECT, small folder", "s", 0.0412, 0.00031, AT_MOST_1_5),
    ]


def test_table_has_one_line_per_workload_with_ratio_target_and_verdict():
    lines = bench_run.render_table(_rows()).splitlines()
    assert lines[0] == "| workload | Dovecot | cpmstore | ratio | target | met? |"
    assert lines[2] == ("| mixed workload, 10 clients, 60 s | 639/s, 0 errors | 1,219/s, 0 errors | 1.91x "
                        "| >= 1.0x, 0 errors | yes |")
    assert lines[3] == "| SELECT, warm | 0.200 s | 0.400 s | 2.00x | <= 1.5x time | **no** |"
    assert lines[4] == ("| idle connections | 5425.0 KB | 10.6 KB | 0.002x | 10,000 connections, <= 20 KB each "
                        "| yes |")
    assert lines[5] == "| resync | 0.500 s | - | - | <= 1.5x time | - |"
    assert lines[6] == "| SELECT, small folder | 0.041 s | 0.31 ms | 0.0075x | <= 1.5x time | yes |"
    assert len(lines) == 7


def _write(directory: Path, minute: int, quick: bool = False, mixed: float = 1219.0) -> Path:
    rows = _rows()
    rows[0] = bench_run.Row("mixed", "mixed workload", "commands/s", 639.0, mixed, AT_LEAST_1)
    when = datetime.datetime(2026, 11, 25, 2, minute, 0, tzinfo=datetime.timezone.utc)
    return bench_run.write_results(directory, when, quick, "python benchmarks/run.py", MACHINE, rows,
                                   {"table": "t"})


def test_json_holds_machine_command_and_every_workload(tmp_path):
    path = _write(tmp_path, 15)
    assert path.name == "2026-11-25T021500Z.json"
    document = json.loads(path.read_text())
    assert document["date"] == "2026-11-25T02:15:00Z" and document["quick"] is False
    assert document["command"] == "python benchmarks/run.py" and document["machine"] == MACHINE
    assert document["table"] == "t"
    by_key = {w["key"]: w for w in document["workloads"]}
    assert list(by_key) == ["mixed", "select-warm", "idle", "resync", "select-first"]
    mixed = by_key["mixed"]
    assert (mixed["dovecot"], mixed["cpmstore"], mixed["unit"], mixed["target"], mixed["met"]) == \
        (639.0, 1219.0, "commands/s", ">= 1.0x", True)
    assert mixed["ratio"] == pytest.approx(1219 / 639)
    assert by_key["select-warm"]["met"] is False and by_key["resync"]["met"] is None
    assert by_key["resync"]["ratio"] is None and by_key["idle"]["target_kind"] == "value_max"
    assert list(tmp_path.iterdir()) == [path]  # no temporary file left behind


def test_stored_results_are_read_oldest_first_without_quick_runs(tmp_path):
    _write(tmp_path, 30, mixed=700.0)
    _write(tmp_path, 10, mixed=500.0)
    _write(tmp_path, 20, quick=True, mixed=9999.0)
    (tmp_path / "notes.json").write_text("[1, 2]")  # not a result: ignored
    (tmp_path / "broken.json").write_text("{")
    runs = bench_run.load_results(tmp_path)
    assert [run["date"] for run in runs] == ["2026-11-25T02:10:00Z", "2026-11-25T02:30:00Z"]
    assert len(bench_run.load_results(tmp_path, include_quick=True)) == 3
    series = bench_run.ratio_series(runs)
    assert series["mixed: >= 1.0x"] == [("2026-11-25T02:10:00Z", pytest.approx(500 / 639)),
                                        ("2026-11-25T02:30:00Z", pytest.approx(700 / 639))]
    assert series["select-warm: <= 1.5x time"] == [("2026-11-25T02:10:00Z", 2.0), ("2026-11-25T02:30:00Z", 2.0)]
    # resync was never measured on both servers; idle's target is absolute, not a ratio
    assert set(series) == {"mixed: >= 1.0x", "select-warm: <= 1.5x time", "select-first: <= 1.5x time"}


def test_without_matplotlib_the_plot_is_skipped_and_said(tmp_path, monkeypatch):
    _write(tmp_path, 10)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib -> ImportError
    message = bench_run.plot_ratios(bench_run.load_results(tmp_path), tmp_path / "ratios.png")
    assert message.startswith("plot skipped: matplotlib is not installed")
    assert not (tmp_path / "ratios.png").exists()


def _load(commands: int, appends: int, errors: int, seconds: float = 10.0) -> loadgen.TargetRun:
    stats = loadgen.Stats(latencies={"APPEND": [0.01] * appends, "SELECT": [0.01] * (commands - appends)},
                          errors=errors, seconds=seconds)
    return loadgen.TargetRun("x", stats, 0.5, None)


def test_load_row_counts_commands_or_appends_per_second_and_errors():
    row = bench_run.load_row("mixed", "mixed workload, 10 clients", 60, _load(2000, 100, 0), _load(1000, 50, 0))
    assert (row.cpmstore, row.dovecot, row.met) == (200.0, 100.0, True)
    failed = bench_run.load_row("mixed", "mixed", 60, _load(2000, 100, 1), _load(1000, 50, 0))
    assert failed.met is False and failed.cpmstore_detail == "1 errors"
    appends = bench_run.load_row("append", "APPEND rate", 60, _load(600, 500, 0), _load(1200, 1000, 0))
    assert (appends.unit, appends.cpmstore, appends.dovecot, appends.met) == ("appends/s", 50.0, 100.0, False)


def test_only_names_the_workload_groups():
    assert bench_run.parse_only(None) == list(bench_run.GROUPS)
    assert bench_run.parse_only("search, mixed") == ["mixed", "search"]  # the table's order, not the option's
    with pytest.raises(ValueError, match="unknown workload"):
        bench_run.parse_only("mixed,nosuch")


def test_rounds_alternate_and_mirror_so_drift_weighs_on_both_servers():
    assert loadgen.round_order(("cpmstore", "dovecot"), 1) == ["cpmstore", "dovecot"]
    assert loadgen.round_order(("cpmstore", "dovecot"), 3) == ["cpmstore", "dovecot", "dovecot", "cpmstore",
                                                               "cpmstore", "dovecot"]
    assert loadgen.round_order(("dovecot",), 2) == ["dovecot", "dovecot"]


def test_runs_one_after_the_other_add_their_time_and_weigh_cpu_by_it():
    first = loadgen.TargetRun("cpmstore", loadgen.Stats(latencies={"SELECT": [0.01] * 300}, errors=1,
                                                        cycles=30, seconds=10.0), 0.5, 1.0)
    second = loadgen.TargetRun("cpmstore", loadgen.Stats(latencies={"SELECT": [0.01] * 1500}, cycles=150,
                                                         seconds=30.0), 0.9, 2.0)
    both = loadgen.combine([first, second])
    assert (both.stats.commands, both.stats.seconds, both.stats.cycles, both.stats.errors) == (1800, 40.0, 180, 1)
    assert both.stats.commands / both.stats.seconds == 45.0  # all commands over all time, not (30/s + 50/s) / 2
    assert both.machine_busy == pytest.approx((0.5 * 10 + 0.9 * 30) / 40)
    assert both.server_cpu == pytest.approx((1.0 * 10 + 2.0 * 30) / 40)
    unknown = loadgen.combine([first, dataclasses.replace(second, server_cpu=None)])
    assert unknown.server_cpu is None  # a part without the server's CPU (not root) leaves it unknown


def test_load_row_names_the_rounds():
    row = bench_run.load_row("mixed", "mixed workload", 60, _load(2000, 100, 0), _load(1000, 50, 0), rounds=3)
    assert row.workload.endswith("60 s (3 alternated runs of 20 s)")
