"""The side-by-side benchmark of issue 9 in one command: every workload against cpmstore and the reference Dovecot.

    python benchmarks/run.py [--messages 100000] [--duration 60] [--rounds 3] [--quick] [--only select,fetch,...]
                             [--workers N] [--fsync optimized|always] [--results-dir benchmarks/results]

It owns: running the other benchmark scripts' pieces (large_folder, resync, loadgen, connections) one after
the other on the same machine, with the same users and data for both servers, and turning their figures into
one row per workload of the issue: Dovecot's value, cpmstore's, the ratio cpmstore / Dovecot, the target and
whether it was met. It prints that table (Markdown), writes it with the machine and the command line as JSON
(`<results-dir>/<UTC date-time>.json`) and plots the ratios of every stored full run (`ratios.png`,
matplotlib from the `bench` extra; skipped, with a message, when matplotlib is missing).

It measures nothing itself (the scripts do) and never asserts on a time. Between the fill and the timed reads
it restarts cpmstore on the same store, so the first SELECT is the first after a restart; Dovecot's is on a
new session (its `imap` processes keep nothing between sessions) unless `--restart-dovecot`. Each load is
`--rounds` shorter runs per server, the servers taking turns (`loadgen.run_rounds`). For the APPEND
workload it sets `mail_fsync = always` in the reference Dovecot's config and reloads it, and puts the file back
byte for byte (and reloads) afterwards, whatever happens. Run it as root (other users' /proc, the Dovecot
config). Linux only; talks to 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime
import inspect
import json
import os
import platform
import shlex
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import connections
import gen_cpm
import imapbench
import large_folder
import loadgen
import resync

REPO_ROOT = large_folder.REPO_ROOT
RESULTS_DIR = Path(__file__).resolve().parent / "results"
PLOT_NAME = "ratios.png"
DOVECOT_CONF = large_folder.DOVECOT_LAB / "etc" / "dovecot.conf"
DOVECOT_CONTROL = large_folder.DOVECOT_LAB / "bin" / "dovecot-ref"
DOVECOT_USERS = "user1,user2,user3,user4,user5"
FOLDER_USER = "user5"  # the large folder's user on Dovecot (the one large_folder.py uses)
APPEND_FSYNC = "always"
BODY_RSS_LIMIT_MB = 200.0
IDLE_CONNECTIONS = 10_000
IDLE_LIMIT_KB = 20.0

# --only names -> the table rows they produce, in the order the rows are printed.
GROUPS: dict[str, tuple[str, ...]] = {
    "mixed": ("mixed",),
    "persistent": ("persistent",),
    "mixed200": ("mixed200",),
    "append": ("append",),
    "select": ("select-first", "select-warm"),
    "fetch": ("fetch-uid-flags",),
    "body": ("body",),
    "resync": ("resync",),
    "search": ("search-header", "search-text"),
    "idle": ("idle",),
}
FOLDER_GROUPS = ("select", "fetch", "body", "resync", "search")
# the large_folder probes behind each folder row (the first SELECT always runs: it opens the folder)
PROBES = {
    "select": ("SELECT (first)", "SELECT (second, warm)"),
    "fetch": ("FETCH 1:* (UID FLAGS)",),
    "search": ("UID SEARCH HEADER Conversation-ID", f"UID SEARCH TEXT {large_folder.TEXT_WORD}"),
    "body": ("UID FETCH 1:* BODY.PEEK[]",),
}


# -- the table (pure) ---------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True, slots=True)
class Goal:
    """A target of the issue: `ratio_min` (ratio >= bound), `ratio_max` (ratio <= bound) or `value_max`
    (cpmstore's own value <= bound, whatever Dovecot's); plus the row's side conditions."""

    text: str
    kind: str
    bound: float


@dataclasses.dataclass(frozen=True, slots=True)
class Row:
    key: str  # stable across runs: the plot's line
    workload: str
    unit: str
    dovecot: float | None
    cpmstore: float | None
    goal: Goal
    conditions: tuple[tuple[str, bool], ...] = ()  # side conditions of the target (0 errors, RSS, answers right)
    dovecot_detail: str = ""
    cpmstore_detail: str = ""
    notes: tuple[str, ...] = ()

    @property
    def ratio(self) -> float | None:
        return ratio(self.cpmstore, self.dovecot)

    @property
    def met(self) -> bool | None:
        return met(self.goal, self.cpmstore, self.dovecot, self.conditions)


def ratio(cpmstore: float | None, dovecot: float | None) -> float | None:
    """cpmstore / Dovecot, or None when either is missing or Dovecot's is 0."""
    if cpmstore is None or not dovecot:
        return None
    return cpmstore / dovecot


def met(goal: Goal, cpmstore: float | None, dovecot: float | None,
        conditions: Sequence[tuple[str, bool]] = ()) -> bool | None:
    """Whether the target holds; None when a figure it needs was not measured."""
    if goal.kind == "value_max":
        if cpmstore is None:
            return None
        held = cpmstore <= goal.bound
    else:
        value = ratio(cpmstore, dovecot)
        if value is None:
            return None
        held = value >= goal.bound if goal.kind == "ratio_min" else value <= goal.bound
    return held and all(ok for _, ok in conditions)


_FORMATS = {"s": "{:.3f} s", "commands/s": "{:,.0f}/s", "appends/s": "{:,.0f}/s", "MB/s": "{:.1f} MB/s",
            "KB/connection": "{:.1f} KB"}


def cell(value: float | None, unit: str, detail: str = "") -> str:
    if value is None:
        text = "-"
    elif unit == "s" and value < 0.01:
        text = f"{value * 1000:.2f} ms"  # a warm SELECT of a small folder: "0.000 s" would say nothing
    else:
        text = _FORMATS.get(unit, "{:g} " + unit).format(value)
    return f"{text}, {detail}" if detail else text


def format_ratio(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.2f}x" if value >= 0.1 else f"{value:.2g}x"


def render_table(rows: Sequence[Row]) -> str:
    """The Markdown table: workload, Dovecot, cpmstore, ratio, target, met?"""
    out = ["| workload | Dovecot | cpmstore | ratio | target | met? |", "|---|---|---|---|---|---|"]
    for row in rows:
        value = row.ratio
        verdict = {True: "yes", False: "**no**", None: "-"}[row.met]
        out.append(f"| {row.workload} | {cell(row.dovecot, row.unit, row.dovecot_detail)} | "
                   f"{cell(row.cpmstore, row.unit, row.cpmstore_detail)} | "
                   f"{format_ratio(value)} | {row.goal.text} | {verdict} |")
    return "\n".join(out)


def row_record(row: Row) -> dict:
    return {
        "key": row.key, "workload": row.workload, "unit": row.unit,
        "dovecot": row.dovecot, "cpmstore": row.cpmstore, "ratio": row.ratio,
        "target": row.goal.text, "target_kind": row.goal.kind, "target_bound": row.goal.bound, "met": row.met,
        "conditions": {text: ok for text, ok in row.conditions},
        "dovecot_detail": row.dovecot_detail, "cpmstore_detail": row.cpmstore_detail, "notes": list(row.notes),
    }


def write_results(directory: Path, when: datetime.datetime, quick: bool, command: str, machine: dict,
                  rows: Sequence[Row], extra: dict | None = None) -> Path:
    """`<directory>/<UTC date-time>[-quick].json`, written whole (temporary file, then renamed)."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / (when.strftime("%Y-%m-%dT%H%M%SZ") + ("-quick" if quick else "") + ".json")
    document = {"date": when.strftime("%Y-%m-%dT%H:%M:%SZ"), "quick": quick, "command": command,
                "machine": machine, "workloads": [row_record(row) for row in rows], **(extra or {})}
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    os.replace(temporary, path)
    return path


def load_results(directory: Path, include_quick: bool = False) -> list[dict]:
    """The stored runs, oldest first; quick runs (a smaller folder, shorter loads) left out unless asked."""
    runs = []
    for path in sorted(directory.glob("*.json")):
        with contextlib.suppress(OSError, ValueError):
            document = json.loads(path.read_text())
            if isinstance(document, dict) and "date" in document and "workloads" in document:
                if include_quick or not document.get("quick"):
                    runs.append(document)
    return sorted(runs, key=lambda document: document["date"])


def ratio_series(runs: Sequence[dict]) -> dict[str, list[tuple[str, float]]]:
    """Per workload, labelled "<key>: <target>" (the latest run's target): (date, ratio) for every run that
    measured it on both servers. Absolute targets (memory per idle connection) are left out: their ratio
    compares a process per connection with a few KB and says nothing about the target."""
    series: dict[str, list[tuple[str, float]]] = {}
    labels: dict[str, str] = {}
    for run in runs:
        for workload in run["workloads"]:
            if workload.get("ratio") is not None and workload.get("target_kind") != "value_max":
                labels[workload["key"]] = f"{workload['key']}: {workload['target']}"
                series.setdefault(workload["key"], []).append((run["date"], workload["ratio"]))
    return {labels[key]: points for key, points in series.items()}


def plot_ratios(runs: Sequence[dict], path: Path) -> str:
    """One line per workload over the stored runs; what was done, as a sentence for the output."""
    try:
        import matplotlib
    except ImportError:
        return "plot skipped: matplotlib is not installed (pip install -e '.[bench]')"
    matplotlib.use("Agg")  # files only, no display
    from matplotlib import pyplot

    series = ratio_series(runs)
    if not series:
        return "plot skipped: no stored full run has a ratio"
    # One x position per run, labelled with its date: runs come in bursts, a time axis would squash them.
    dates = sorted({date for points in series.values() for date, _ in points})
    figure, axes = pyplot.subplots(figsize=(12, 6))
    colours = pyplot.get_cmap("tab20")
    for index, (label, points) in enumerate(series.items()):
        axes.plot([dates.index(date) for date, _ in points], [value for _, value in points],
                  marker="os^vD"[index % 5], color=colours(index % 20), label=label)
    axes.axhline(1.0, color="grey", linewidth=0.8)
    axes.set_yscale("log")
    axes.set_xticks(range(len(dates)), [date.replace("T", " ")[:16] for date in dates])
    axes.set_xlim(-0.5, len(dates) - 0.5)
    axes.set_ylabel("cpmstore / Dovecot (rates: higher is better; times: lower)")
    axes.set_title(f"benchmarks/run.py: ratios over {len(dates)} stored run(s), UTC")
    axes.legend(fontsize="small", loc="center left", bbox_to_anchor=(1.0, 0.5))
    figure.autofmt_xdate()
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    pyplot.close(figure)
    return f"plot written: {path}"


# -- the machine ----------------------------------------------------------------------------------------------
def _output(command: Sequence[str]) -> str:
    try:
        return subprocess.run(command, capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return ""


def machine_info() -> dict:
    model = memory = ""
    with contextlib.suppress(OSError):
        model = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo")
                      if line.startswith("model name")), "")
    with contextlib.suppress(OSError):
        memory = next((line.split(":", 1)[1].strip() for line in open("/proc/meminfo")
                       if line.startswith("MemTotal")), "")
    commit = _output(["git", "-C", str(REPO_ROOT), "rev-parse", "HEAD"])
    dirty = bool(_output(["git", "-C", str(REPO_ROOT), "status", "--porcelain", "--untracked-files=no"]))
    return {
        "cores": os.cpu_count(), "cpu": model, "memory": memory, "kernel": platform.release(),
        "python": platform.python_version(), "dovecot": _output(["dovecot", "--version"]),
        "cpmstore_commit": commit + (" (with uncommitted changes)" if dirty else ""),
        "load_average": list(os.getloadavg()),
    }


# -- Dovecot around a workload --------------------------------------------------------------------------------
def _replace_file(path: Path, data: bytes) -> None:
    temporary = path.with_name(path.name + ".run-py.tmp")
    temporary.write_bytes(data)
    shutil.copystat(path, temporary)
    os.replace(temporary, path)


def _dovecot(*command: str) -> None:
    subprocess.run(["dovecot", "-c", str(DOVECOT_CONF), *command], check=True, capture_output=True, timeout=60)
    time.sleep(1.0)  # the config process re-reads the file; sessions opened after that get the new settings


@contextlib.contextmanager
def dovecot_setting(name: str, value: str) -> Iterator[None]:
    """`name = value` in the reference Dovecot's config for the sessions opened inside; the file put back after."""
    original = DOVECOT_CONF.read_bytes()
    try:
        _replace_file(DOVECOT_CONF, original + f"\n# set by benchmarks/run.py for one workload\n{name} = {value}\n"
                      .encode())
        _dovecot("reload")
        shown = _output(["doveconf", "-c", str(DOVECOT_CONF), "-h", name])
        if shown != value:
            raise RuntimeError(f"doveconf shows {name} = {shown!r} after the change")
        yield
    finally:
        _replace_file(DOVECOT_CONF, original)
        _dovecot("reload")


def restart_dovecot() -> None:
    subprocess.run([str(DOVECOT_CONTROL), "restart"], check=True, capture_output=True, timeout=120)


# -- the workloads ----------------------------------------------------------------------------------------------
@dataclasses.dataclass(slots=True)
class Run:
    """What one invocation measured, workload by workload, and what it printed on the way."""

    rows: list[Row] = dataclasses.field(default_factory=list)
    details: dict[str, str] = dataclasses.field(default_factory=dict)  # each script's own report
    load_average: dict[str, list[float]] = dataclasses.field(default_factory=dict)
    seconds: dict[str, float] = dataclasses.field(default_factory=dict)  # wall time of each step

    def report(self, name: str, text: str) -> None:
        self.details[name] = text
        print(text, flush=True)


def server_options(workers: int | None) -> dict:
    """Keyword arguments for large_folder.cpmstore_server: `workers` when both it and the config know them."""
    if workers is None:
        return {}
    if "workers" in inspect.signature(large_folder.cpmstore_server).parameters and workers_key_exists():
        return {"workers": workers}
    print(f"--workers {workers} not passed: cpmstore's config or the benchmark server has no workers key")
    return {}


def workers_key_exists() -> bool:
    sys.path.insert(0, str(REPO_ROOT))
    try:
        from cpmstore.config import ServerConfig
    finally:
        sys.path.remove(str(REPO_ROOT))
    return "workers" in {field.name for field in dataclasses.fields(ServerConfig)}


def _folder_cpmstore(args, workload, folder, probes, plan, extra, folder_result, resync_result) -> None:
    with large_folder.cpmstore_server(keep=True, **args.server_options) as target:
        large_folder.fill_folder(target, workload, folder, args.append_batch, folder_result)
        workdir = target.log_path.parent
    try:
        # The same store on a new server process: the first SELECT is the first after a restart.
        with large_folder.cpmstore_server(keep=False, workdir=workdir, **args.server_options) as target:
            folder_result.notes.append("server restarted between the fill and the reads")
            large_folder.time_reads(target, workload, folder, probes, plan is None, folder_result)
            if plan is not None:
                resync.change_and_resync(target, len(workload.messages), extra, plan, folder, args.seed,
                                         False, resync_result)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _folder_dovecot(args, workload, folder, probes, plan, extra, folder_result, resync_result) -> None:
    with large_folder.dovecot_server(args.dovecot_port, FOLDER_USER, args.dovecot_password) as target:
        large_folder.fill_folder(target, workload, folder, args.append_batch, folder_result)
        if args.restart_dovecot:
            restart_dovecot()
            folder_result.notes.append("Dovecot restarted between the fill and the reads")
        else:
            folder_result.notes.append("reads on a new session after the fill (Dovecot not restarted)")
        large_folder.time_reads(target, workload, folder, probes, plan is None, folder_result)
        if plan is not None:
            resync.change_and_resync(target, len(workload.messages), extra, plan, folder, args.seed, False,
                                     resync_result)


def run_folder(args: argparse.Namespace, groups: set[str], run: Run) -> None:
    """Fill one folder per server, time the reads on it, then (resync) change it and resync a device."""
    workload = large_folder.make_workload(args.messages, args.seed)
    changes = args.changes
    plan = None
    if "resync" in groups:
        flag_changes, expunges = changes * 4 // 10, changes * 3 // 10
        plan = resync.Plan(flag_changes, expunges, changes - flag_changes - expunges)
    extra = ([message.raw for message in gen_cpm.generate(args.messages + plan.appends, args.seed)]
             [args.messages:] if plan else [])
    wanted = {"SELECT (first)"} | {name for group in groups for name in PROBES.get(group, ())}
    folder = time.strftime("run-%Y%m%d-%H%M%S-") + str(os.getpid())
    probes = [p for p in large_folder.read_probes(workload, folder) if p.operation in wanted]
    folder_results: dict[str, large_folder.TargetResult] = {}
    resync_results: dict[str, resync.TargetResult] = {}
    for name, body in (("cpmstore", _folder_cpmstore), ("dovecot", _folder_dovecot)):
        print(f"{name}: filling {args.messages} messages, timing the reads"
              + (f", {changes} changes and the resync" if plan else "") + " ...", flush=True)
        folder_result = folder_results[name] = large_folder.TargetResult(name=name)
        resync_result = resync_results[name] = resync.TargetResult(name=name)
        try:
            body(args, workload, folder, probes, plan, extra, folder_result, resync_result)
        except (OSError, RuntimeError, LookupError, KeyError, subprocess.SubprocessError,
                imapbench.ImapError) as failure:
            reads_done = len(folder_result.steps) == 1 + len(probes)  # the fill, then one step per probe
            (resync_result if reads_done else folder_result).error = f"{type(failure).__name__}: {failure}"
    run.report("large folder", large_folder.render(folder_results, args.messages, workload.total_bytes))
    if plan:
        run.report("resync", resync.render(resync_results))
    run.rows += folder_rows(groups, workload, folder_results, resync_results, args.restart_dovecot, changes)


def _step(result: large_folder.TargetResult | None, operation: str) -> large_folder.Step | None:
    return next((s for s in result.steps if s.operation == operation), None) if result else None


def _right(*steps) -> tuple[str, bool]:
    checks = [s.check for s in steps if s is not None]
    return "answers checked on both servers", len(checks) == len(steps) and all(c.startswith("ok") for c in checks)


def folder_rows(groups: set[str], workload: large_folder.Workload, results: dict, resync_results: dict,
                dovecot_restarted: bool, changes: int) -> list[Row]:
    ours, theirs = results.get("cpmstore"), results.get("dovecot")
    n = f"{len(workload.messages):,}"
    rows = []

    def timed(key: str, label: str, operation: str, goal: Goal, notes: tuple[str, ...] = ()) -> Row:
        mine, reference = _step(ours, operation), _step(theirs, operation)
        return Row(key, label, "s", reference and reference.seconds, mine and mine.seconds, goal,
                   (_right(mine, reference),), notes=notes)

    at_most = {bound: Goal(f"<= {bound:.1f}x time", "ratio_max", bound) for bound in (1.0, 1.5, 2.0)}
    if "select" in groups:
        how = "Dovecot restarted" if dovecot_restarted else "Dovecot: a new session"
        rows.append(timed("select-first", f"SELECT of a {n}-message folder, first after restart "
                          f"(cpmstore restarted; {how})", "SELECT (first)", at_most[1.5]))
        rows.append(timed("select-warm", f"SELECT of a {n}-message folder, warm (second in the session)",
                          "SELECT (second, warm)", at_most[1.5]))
    if "fetch" in groups:
        rows.append(timed("fetch-uid-flags", f"`FETCH 1:* (UID FLAGS)` on {n} messages",
                          "FETCH 1:* (UID FLAGS)", at_most[1.5]))
    if "body" in groups:
        mine, reference = _step(ours, "UID FETCH 1:* BODY.PEEK[]"), _step(theirs, "UID FETCH 1:* BODY.PEEK[]")
        megabytes = workload.total_bytes / 1e6

        def rss_mb(step) -> float | None:
            return None if step is None or step.peak_rss_kib is None else step.peak_rss_kib * 1024 / 1e6

        rss = rss_mb(mine)
        rows.append(Row(
            "body", f"`UID FETCH 1:* (BODY.PEEK[])` on {n} messages ({megabytes:.1f} MB)", "MB/s",
            reference and megabytes / reference.seconds, mine and megabytes / mine.seconds,
            Goal(f">= 0.8x MB/s, server RSS < {BODY_RSS_LIMIT_MB:.0f} MB", "ratio_min", 0.8),
            (_right(mine, reference), (f"cpmstore peak RSS < {BODY_RSS_LIMIT_MB:.0f} MB",
                                       rss is not None and rss < BODY_RSS_LIMIT_MB)),
            dovecot_detail=f"RSS {rss_mb(reference):.0f} MB" if rss_mb(reference) else "",
            cpmstore_detail=f"RSS {rss:.0f} MB" if rss else "",
            notes=("RSS: peak during the command; cpmstore the whole server process, Dovecot the session's imap",)))
    if "resync" in groups:
        def resync_step(name: str):
            result = resync_results.get(name)
            step = next((s for s in result.steps if s.operation.startswith("resync:")), None) if result else None
            checks = (result.checks + [s.check for s in result.steps if s.check]) if result else []
            right = result is not None and not result.error and step is not None and \
                not any("WRONG" in check for check in checks)
            return step, right

        (mine, mine_right), (reference, reference_right) = resync_step("cpmstore"), resync_step("dovecot")
        rows.append(Row(
            "resync", f"QRESYNC resync of {n} messages after {changes:,} changes (ENABLE + SELECT + UID FETCH)", "s",
            reference and reference.seconds, mine and mine.seconds, at_most[1.5],
            (("resynced state checked on both servers", mine_right and reference_right),),
            dovecot_detail=f"{reference.received:,} bytes" if reference else "",
            cpmstore_detail=f"{mine.received:,} bytes" if mine else ""))
    if "search" in groups:
        rows.append(timed("search-header", f"`UID SEARCH HEADER Conversation-ID x` on {n} messages "
                          f"({workload.conversation_hits:,} hits)", "UID SEARCH HEADER Conversation-ID",
                          at_most[1.0]))
        rows.append(timed("search-text", f"`UID SEARCH TEXT {large_folder.TEXT_WORD}` on {n} messages "
                          f"({workload.text_hits:,} hits)", f"UID SEARCH TEXT {large_folder.TEXT_WORD}",
                          at_most[2.0]))
    return rows


LOADS = {  # row key -> (mix, clients, label)
    "mixed": ("mixed", 10, "mixed workload, 10 clients"),
    "persistent": ("persistent", 10, "same mix with persistent sessions, 10 clients"),
    "mixed200": ("mixed", 200, "same mix (mixed), 200 clients"),
    "append": ("append", 10, f"APPEND rate, persistent sessions, 10 clients, fsync on for both "
                             f"(Dovecot `mail_fsync = {APPEND_FSYNC}`)"),
}


def run_load(args: argparse.Namespace, key: str, run: Run) -> None:
    mix, clients, label = LOADS[key]
    options = loadgen.Options(mix=mix, clients=clients, duration=args.duration, seed=args.seed,
                              run_id=f"run-{key}-{os.getpid()}")
    # The same durability on both sides: the reference runs its default `mail_fsync = optimized` except for
    # the APPEND row (`always` for both).
    fsync = "always" if mix == "append" else args.fsync
    if mix != "append":
        label = f"{label}, cpmstore `fsync = {fsync}`"
    loadgen_args = argparse.Namespace(dovecot_user=DOVECOT_USERS, dovecot_port=args.dovecot_port,
                                      dovecot_password=args.dovecot_password, fsync=fsync,
                                      **args.server_options)  # loadgen reads `workers` when it is there
    failures: list[str] = []

    def around(name: str) -> contextlib.AbstractContextManager:
        return dovecot_setting("mail_fsync", APPEND_FSYNC) if name == "dovecot" and mix == "append" \
            else contextlib.nullcontext()

    runs = loadgen.run_rounds(("cpmstore", "dovecot"), loadgen_args, options, args.rounds, around=around,
                              failed=lambda name, failure: failures.append(
                                  f"{name}: {type(failure).__name__}: {failure}"))
    run.report(key, "\n".join(loadgen.render(runs, options) + failures))
    run.rows.append(load_row(key, label, args.duration, runs.get("cpmstore"), runs.get("dovecot"), failures,
                             args.rounds))


def load_row(key: str, label: str, duration: float, ours, theirs, failures: Sequence[str] = (),
             rounds: int = 1) -> Row:
    append = LOADS[key][0] == "append"

    def rate(target_run) -> float | None:
        if target_run is None or not target_run.stats.seconds:
            return None
        done = len(target_run.stats.latencies.get("APPEND", ())) if append else target_run.stats.commands
        return done / target_run.stats.seconds

    def errors(target_run) -> str:
        return "" if target_run is None else f"{target_run.stats.errors} errors"

    conditions = ((("cpmstore 0 errors", ours is not None and ours.stats.errors == 0),) if not append else ())
    timing = f"{duration:g} s" if rounds == 1 else f"{duration:g} s ({rounds} alternated runs of {duration / rounds:g} s)"
    return Row(key, f"{label}, {timing}", "appends/s" if append else "commands/s",
               rate(theirs), rate(ours), Goal(">= 1.0x" + ("" if append else ", 0 errors"), "ratio_min", 1.0),
               conditions, dovecot_detail=errors(theirs), cpmstore_detail=errors(ours), notes=tuple(failures))


def run_idle(args: argparse.Namespace, run: Run) -> None:
    options = argparse.Namespace(connections=args.idle_connections, users=args.idle_users, clients=2, keep=False,
                                 dovecot_port=args.dovecot_port, dovecot_connections=args.dovecot_idle_connections)
    results: dict[str, connections.Result] = {}
    failures = []
    for name, measure in (("cpmstore", connections.run_cpmstore), ("dovecot", connections.run_dovecot)):
        connection_count = options.connections if name == "cpmstore" else options.dovecot_connections
        print(f"{name}: {connection_count} connections in IDLE ...", flush=True)
        try:
            results[name] = measure(options)
        except (OSError, RuntimeError, EOFError) as failure:
            failures.append(f"{name}: {type(failure).__name__}: {failure}")
    run.report("idle", "\n".join(connections.render(list(results.values())) + failures))
    run.rows.append(idle_row(results.get("cpmstore"), results.get("dovecot"), args.idle_connections, failures))


def idle_row(ours, theirs, wanted: int, failures: Sequence[str] = ()) -> Row:
    def kb(result) -> float | None:
        return None if result is None or not result.held else result.kib_per_connection * 1.024

    def detail(result) -> str:
        return "" if result is None else f"{result.held:,} held"

    held = ours is not None and ours.held == wanted and ours.failed == 0 and ours.fresh_ok \
        and ours.notified == ours.held
    conditions = ((f"cpmstore holds {wanted:,} connections, a fresh client served, every idler told of new mail",
                   held),)
    if wanted != IDLE_CONNECTIONS:
        conditions += ((f"the issue's {IDLE_CONNECTIONS:,} connections (this run: {wanted:,})", False),)
    return Row("idle", "idle connections held (IDLE), memory per connection (RSS)", "KB/connection",
               kb(theirs), kb(ours), Goal(f"{IDLE_CONNECTIONS:,} connections, <= {IDLE_LIMIT_KB:.0f} KB each",
                                          "value_max", IDLE_LIMIT_KB),
               conditions, dovecot_detail=detail(theirs), cpmstore_detail=detail(ours),
               notes=("Dovecot: the RSS of its imap processes (one per connection, shared pages counted in each)",
                      *failures))


# -- main -----------------------------------------------------------------------------------------------------
def parse_only(text: str | None) -> list[str]:
    if not text:
        return list(GROUPS)
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in GROUPS]
    if unknown:
        raise ValueError(f"unknown workload(s) {', '.join(unknown)}; known: {', '.join(GROUPS)}")
    return [name for name in GROUPS if name in names]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=None, help="messages in the large folder (100000)")
    parser.add_argument("--duration", type=float, default=None, help="seconds of each load (60)")
    parser.add_argument("--rounds", type=int, default=None,
                        help="runs each load's --duration is split into per server, the servers taking turns "
                             "A B B A ... (3; 1 with --quick)")
    parser.add_argument("--quick", action="store_true",
                        help="a small run to check the script: 2,000 messages, 10 s loads, 500 idle connections, "
                             "200 changes before the resync; its JSON is named -quick and left out of the plot")
    parser.add_argument("--only", default=None, metavar="W[,W...]",
                        help=f"run only these workloads, of: {', '.join(GROUPS)}")
    parser.add_argument("--workers", type=int, default=None,
                        help="cpmstore's [server] workers, when the config has that key (loads and the large "
                             "folder; the idle run's server is connections.py's own)")
    parser.add_argument("--fsync", choices=("optimized", "always"), default="optimized",
                        help="cpmstore's [server] fsync for the mixed and persistent loads, where Dovecot runs its "
                             "default mail_fsync = optimized (default optimized: the same promise); the APPEND "
                             "row is always `always` for both")
    parser.add_argument("--restart-dovecot", action="store_true",
                        help="restart the reference Dovecot between the fill and the first SELECT "
                             "(breaks other sessions on it)")
    parser.add_argument("--results-dir", type=Path, default=RESULTS_DIR)
    parser.add_argument("--dovecot-port", type=int, default=10143)
    parser.add_argument("--dovecot-password", default="pass")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--append-batch", type=int, default=500, metavar="N",
                        help="messages per MULTIAPPEND while filling the large folder (500)")
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        groups = parse_only(args.only)
    except ValueError as problem:
        parser.error(str(problem))
    args.messages = args.messages or (2_000 if args.quick else 100_000)
    args.duration = args.duration or (10.0 if args.quick else 60.0)
    args.rounds = args.rounds or (1 if args.quick else 3)
    args.changes = 200 if args.quick else 1_000
    args.idle_connections = 500 if args.quick else IDLE_CONNECTIONS
    args.idle_users = 100 if args.quick else 1_000
    args.dovecot_idle_connections = 100 if args.quick else 500
    if args.messages < args.changes:
        parser.error(f"--messages must be at least {args.changes} (the resync's changes)")
    args.server_options = server_options(args.workers)
    connections.raise_nofile()
    # A SIGTERM unwinds like an exception, so Dovecot's config is put back and cpmstore stopped.
    signal.signal(signal.SIGTERM, lambda number, frame: sys.exit(128 + number))

    started = datetime.datetime.now(datetime.timezone.utc)
    command = shlex.join(["python", "benchmarks/run.py", *argv])
    machine = machine_info()
    print(f"{command}: {', '.join(groups)}; {machine['cores']} cores, load average "
          f"{' '.join(f'{v:.2f}' for v in machine['load_average'])}", flush=True)
    run = Run()
    steps: list[tuple[str, Callable[[], None]]] = []
    folder_groups = {g for g in groups if g in FOLDER_GROUPS}
    if folder_groups:
        steps.append(("folder", lambda: run_folder(args, folder_groups, run)))
    for key in ("mixed", "persistent", "mixed200", "append"):
        if key in groups:
            steps.append((key, lambda key=key: run_load(args, key, run)))
    if "idle" in groups:
        steps.append(("idle", lambda: run_idle(args, run)))
    for name, step in steps:
        run.load_average[name] = list(os.getloadavg())
        began = time.monotonic()
        step()
        run.seconds[name] = round(time.monotonic() - began, 1)
        print(f"[{name}: {run.seconds[name]:.0f} s, load average before it "
              f"{' '.join(f'{v:.2f}' for v in run.load_average[name])}]", flush=True)
    run.load_average["end"] = list(os.getloadavg())

    order = [key for group in groups for key in GROUPS[group]]
    rows = sorted(run.rows, key=lambda row: order.index(row.key))
    table = render_table(rows)
    print("\n" + table)
    for row in rows:
        for text, ok in row.conditions:
            if not ok:
                print(f"{row.key}: condition not met: {text}")
    ended = datetime.datetime.now(datetime.timezone.utc)
    path = write_results(args.results_dir, started, args.quick, command, machine, rows, {
        "finished": ended.strftime("%Y-%m-%dT%H:%M:%SZ"), "load_average_at_start_of": run.load_average, "seconds": run.seconds,
        "table": table, "details": run.details})
    print(f"results written: {path}")
    print(plot_ratios(load_results(args.results_dir), args.results_dir / PLOT_NAME))
    unmeasured = [row.key for row in rows if row.met is None]
    if unmeasured:
        print(f"not measured: {', '.join(unmeasured)}")
    return 1 if unmeasured or len(rows) < len(order) else 0


if __name__ == "__main__":
    sys.exit(main())
