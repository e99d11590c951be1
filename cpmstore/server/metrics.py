"""Prometheus metrics: what the server counts and the ``/metrics`` endpoint (issue 11).

This module owns the counters the command path bumps and their export in
the Prometheus text format. Counting is plain ``int`` arithmetic on the
reactor thread (a dict increment and a bisect per command, nothing per
message); everything that can be read from live state instead of counted
(connections by state, the change backlog, store sizes) is read at scrape
time by a collector, so the hot path pays nothing for it. The export uses a
``CollectorRegistry`` of this server's own, never prometheus-client's global
one, so several servers in one process keep apart.

It never runs on any thread but the reactor's, never reads message data, and
never labels a series with anything a client chose freely: command names are
the server's own (an unknown one is ``UNKNOWN``), user names only for the
``[metrics] store_size_users`` largest stores.

``prometheus-client`` is an optional dependency (``pip install
'cpmstore[metrics]'``): it is imported only when ``[metrics] endpoint`` is
set, and its absence then stops the start with a ``ConfigError``.
"""

from __future__ import annotations

from bisect import bisect_left
from typing import Any, Awaitable, Callable, Iterator, Sequence

from twisted.internet.defer import Deferred, DeferredList
from twisted.logger import Logger

from ..config import ConfigError
from .state import State

__all__ = ["Metrics", "NoMetrics", "NO_METRICS", "command_label", "exposition_source", "merge_expositions",
           "metrics_site"]

log = Logger()

# Upper bounds of the command latency buckets, in seconds: from a cached
# FETCH to a large APPEND or IDLE (which lasts until DONE).
LATENCY_BOUNDS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)

_STATE_LABELS = {
    State.NOT_AUTHENTICATED: "not_authenticated",
    State.AUTHENTICATED: "authenticated",
    State.SELECTED: "selected",
}
CONNECTION_STATES = ("not_authenticated", "authenticated", "selected", "idle")


class NoMetrics:
    """What the command path calls when no metrics endpoint is configured."""

    __slots__ = ()

    def command(self, name: str, status: bytes, seconds: float) -> None:
        pass

    def login(self, mechanism: str, ok: bool) -> None:
        pass

    def appended(self, messages: int, size: int) -> None:
        pass

    def notified(self, lines: int) -> None:
        pass


NO_METRICS = NoMetrics()


class Metrics(NoMetrics):
    """The counts, as plain numbers; exported by ``_Collector`` at scrape time."""

    __slots__ = ("commands", "latency", "latency_sum", "logins", "appended_messages", "appended_bytes",
                 "notifications_sent")

    def __init__(self) -> None:
        self.commands: dict[tuple[str, bytes], int] = {}
        # Per command name: one count per bucket of LATENCY_BOUNDS and one for
        # +Inf, not cumulative (they are summed up at scrape time).
        self.latency: dict[str, list[int]] = {}
        self.latency_sum: dict[str, float] = {}
        self.logins: dict[tuple[str, str], int] = {}
        self.appended_messages = 0
        self.appended_bytes = 0
        self.notifications_sent = 0

    def command(self, name: str, status: bytes, seconds: float) -> None:
        key = (name, status)
        self.commands[key] = self.commands.get(key, 0) + 1
        buckets = self.latency.get(name)
        if buckets is None:
            buckets = self.latency[name] = [0] * (len(LATENCY_BOUNDS) + 1)
            self.latency_sum[name] = 0.0
        buckets[bisect_left(LATENCY_BOUNDS, seconds)] += 1
        self.latency_sum[name] += seconds

    def login(self, mechanism: str, ok: bool) -> None:
        key = (mechanism, "ok" if ok else "failed")
        self.logins[key] = self.logins.get(key, 0) + 1

    def appended(self, messages: int, size: int) -> None:
        self.appended_messages += messages
        self.appended_bytes += size

    def notified(self, lines: int) -> None:
        self.notifications_sent += lines


def command_label(raw: bytes, known: Any) -> str:
    """The command name of a line that did not parse, for the ``command``
    label: a name in ``known`` (the handler table), else ``UNKNOWN``, so a
    client cannot invent series. ``UID FETCH`` counts as ``FETCH``, as the
    parsed command does. Only the first words are looked at: the rest may be
    a password."""
    words = raw.split(b" ", 3)[1:3]
    if words and words[0].upper() == b"UID":
        words = words[1:]
    name = words[0].upper().decode("ascii", "replace") if words else ""
    return name if name in known else "UNKNOWN"


def _prometheus():
    try:
        from prometheus_client import core, exposition
    except ImportError:
        raise ConfigError("metrics.endpoint: the prometheus-client package is not installed; "
                          "pip install 'cpmstore[metrics]' or leave metrics.endpoint empty") from None
    return core, exposition


class _StoreSizes:
    """Users' store sizes from the totals the quota code keeps (``usage()``,
    read from the index once per user, then kept current), sampled at a
    scrape at most once per ``interval`` seconds. Only users whose store this
    process has open are counted: opening every store on disk to weigh it
    would cost more than the answer is worth."""

    def __init__(self, store: Any, reactor: Any, interval: int) -> None:
        self.store = store
        self.reactor = reactor
        self.interval = interval
        self.sampled_at: float | None = None
        self.sizes: dict[str, tuple[int, int]] = {}  # user -> (messages, bytes)

    async def refresh(self) -> None:
        now = self.reactor.seconds()
        if self.sampled_at is not None and now - self.sampled_at < self.interval:
            return
        self.sampled_at = now
        accounts = [a for a in map(self.store.loaded_account, await self.store.usernames()) if a is not None]
        results = await DeferredList([Deferred.fromCoroutine(a.usage()) for a in accounts], consumeErrors=True)
        self.sizes = {a.username: usage for a, (ok, usage) in zip(accounts, results) if ok}


class _Collector:
    """Reads the counts and the live state into metric families at each scrape."""

    def __init__(self, metrics: Metrics, context: Any, sizes: _StoreSizes, core: Any) -> None:
        self.metrics = metrics
        self.context = context
        self.sizes = sizes
        self.core = core

    def collect(self) -> Iterator[Any]:
        core, m = self.core, self.metrics
        commands = core.CounterMetricFamily("cpmstore_commands", "Commands answered, by name and tagged result.",
                                            labels=["command", "result"])
        for (name, status), count in sorted(m.commands.items()):
            commands.add_metric([name, status.decode()], count)
        yield commands

        latency = core.HistogramMetricFamily("cpmstore_command_duration_seconds",
                                             "Time from a command's start to its tagged reply.", labels=["command"])
        bounds = [*(_go_float(b) for b in LATENCY_BOUNDS), "+Inf"]
        for name, counts in sorted(m.latency.items()):
            cumulative, total = [], 0
            for bound, count in zip(bounds, counts):
                total += count
                cumulative.append((bound, total))
            latency.add_metric([name], cumulative, m.latency_sum[name])
        yield latency

        logins = core.CounterMetricFamily("cpmstore_logins", "Login attempts, by SASL mechanism (or LOGIN) and result.",
                                          labels=["mechanism", "result"])
        for (mechanism, result), count in sorted(m.logins.items()):
            logins.add_metric([mechanism, result], count)
        yield logins

        yield core.CounterMetricFamily("cpmstore_appended_messages", "Messages stored by APPEND.",
                                       value=m.appended_messages)
        yield core.CounterMetricFamily("cpmstore_appended_bytes", "Bytes of the messages stored by APPEND.",
                                       value=m.appended_bytes)
        yield core.CounterMetricFamily("cpmstore_notifications_sent",
                                       "Untagged updates pushed to clients by IDLE and NOTIFY.",
                                       value=m.notifications_sent)
        yield from self._live(core)

    def _live(self, core: Any) -> Iterator[Any]:
        ctx = self.context
        counts = {(listener.endpoint, state): 0 for listener in ctx.config.listeners for state in CONNECTION_STATES}
        selected_backlog = notify_backlog = 0
        for protocol in list(ctx.protocols):
            session = protocol.session
            if session is None or protocol.relay is not None:
                continue  # a relay's session is counted by the worker process it moved to (server.handoff)
            state = "idle" if session.idling else _STATE_LABELS.get(session.state)
            if state is not None:
                key = (protocol.listener.endpoint, state)
                counts[key] = counts.get(key, 0) + 1
            if session.selected is not None:
                selected_backlog += session.selected.backlog
            if session.notifier is not None:
                notify_backlog += session.notifier.backlog
        connections = core.GaugeMetricFamily("cpmstore_connections", "Open connections, by listener and session state.",
                                             labels=["listener", "state"])
        for (listener, state), count in sorted(counts.items()):
            connections.add_metric([listener, state], count)
        yield connections

        backlog = core.GaugeMetricFamily(
            "cpmstore_change_backlog",
            "Changes heard from the change bus and not yet told to the client: by the selected "
            "mailbox's view (until RFC 3501 allows) and by NOTIFY (until between commands).", labels=["queue"])
        backlog.add_metric(["selected"], selected_backlog)
        backlog.add_metric(["notify"], notify_backlog)
        yield backlog

        sizes = self.sizes.sizes
        largest = sorted(sizes.items(), key=lambda item: (-item[1][1], item[0]))
        largest = largest[:ctx.config.metrics.store_size_users]
        store_bytes = core.GaugeMetricFamily("cpmstore_store_bytes", "Bytes of messages a user keeps (largest users).",
                                             labels=["user"])
        store_messages = core.GaugeMetricFamily("cpmstore_store_messages", "Messages a user keeps (largest users).",
                                                labels=["user"])
        for user, (messages, size) in largest:
            store_bytes.add_metric([user], size)
            store_messages.add_metric([user], messages)
        yield store_bytes
        yield store_messages
        yield core.GaugeMetricFamily("cpmstore_store_total_bytes", "Bytes of messages of all users sampled.",
                                     value=sum(size for _count, size in sizes.values()))
        yield core.GaugeMetricFamily("cpmstore_store_total_messages", "Messages of all users sampled.",
                                     value=sum(count for count, _size in sizes.values()))
        yield core.GaugeMetricFamily("cpmstore_store_users", "Users whose store size was sampled.", value=len(sizes))


def _go_float(value: float) -> str:
    # The spelling Prometheus uses for bucket bounds ("0.5", "1.0", "300.0").
    return repr(float(value))


def exposition_source(context: Any) -> Callable[[], Awaitable[bytes]]:
    """What a scrape of ``context`` answers, in the Prometheus text format
    (``context.metrics`` must be a ``Metrics``). ConfigError without prometheus-client."""
    core, exposition = _prometheus()
    sizes = _StoreSizes(context.store, context.reactor, context.config.metrics.store_size_interval_seconds)
    registry = core.CollectorRegistry(auto_describe=False)
    registry.register(_Collector(context.metrics, context, sizes, core))

    async def render() -> bytes:
        await sizes.refresh()
        return exposition.generate_latest(registry)

    return render


def _with_label(sample: str, name: str, value: str) -> str:
    """A text-format sample line with one more label, first."""
    cut = min((i for i in (sample.find("{"), sample.find(" ")) if i >= 0), default=len(sample))
    label = f'{name}="{value}"'
    if sample[cut:cut + 1] == "{":
        rest = sample[cut + 1:]
        return f"{sample[:cut]}{{{label}{',' if not rest.startswith('}') else ''}{rest}"
    return f"{sample[:cut]}{{{label}}}{sample[cut:]}"


def merge_expositions(texts: Sequence[tuple[str, str]], label: str = "worker") -> str:
    """One text-format page from several processes' pages, ``(label value,
    page)`` each: every sample gets the ``label`` (so that no process's count
    passes for the server's), each family's HELP and TYPE appear once, and
    its samples from every process follow them (the format wants a family's
    lines together)."""
    headers: dict[str, list[str]] = {}
    samples: dict[str, list[str]] = {}
    for value, text in texts:
        family = None
        for line in text.splitlines():
            if line.startswith(("# HELP ", "# TYPE ")):
                family = line.split(" ", 3)[2]
                header = headers.setdefault(family, [])
                samples.setdefault(family, [])
                if not any(h.startswith(line[:6]) for h in header):
                    header.append(line)
            elif line and not line.startswith("#") and family is not None:
                samples[family].append(_with_label(line, label, value))
    return "".join("\n".join(headers[f] + samples[f]) + "\n" for f in headers)


def metrics_site(context: Any, render: Callable[[], Awaitable[bytes]] | None = None) -> Any:
    """A twisted.web Site serving ``GET /metrics`` for ``context`` (whose
    ``metrics`` must be a ``Metrics``), or what ``render`` answers (the
    supervisor of several worker processes). ConfigError without prometheus-client."""
    core, exposition = _prometheus()
    from twisted.web import pages
    from twisted.web.resource import Resource
    from twisted.web.server import NOT_DONE_YET, Site

    if render is None:
        render = exposition_source(context)

    # The classic text format every Prometheus version reads (what
    # generate_latest writes); newer clients call it 1.0.0 by default.
    content_type = getattr(exposition, "CONTENT_TYPE_PLAIN_0_0_4", exposition.CONTENT_TYPE_LATEST).encode()

    class MetricsResource(Resource):
        isLeaf = True

        def render_GET(self, request: Any) -> Any:
            gone: list[bool] = []
            request.notifyFinish().addErrback(lambda _f: gone.append(True))

            def write(page: bytes) -> None:
                if gone:
                    return
                request.setHeader(b"Content-Type", content_type)
                request.write(page)
                request.finish()

            def failed(failure: Any) -> None:
                log.failure("metrics scrape failed", failure)
                if not gone:
                    request.setResponseCode(500)
                    request.finish()

            Deferred.fromCoroutine(render()).addCallbacks(write, failed)
            return NOT_DONE_YET

    class MetricsSite(Site):
        noisy = False  # no "Starting factory" line per scrape's connection

        def log(self, request: Any) -> None:
            pass  # no access log line per scrape either

    class Root(Resource):
        def getChild(self, path: bytes, request: Any) -> Any:
            return pages.notFound()

    root = Root()
    root.putChild(b"metrics", MetricsResource())
    return MetricsSite(root)
