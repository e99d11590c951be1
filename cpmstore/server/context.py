"""What every connection of one server process shares (DESIGN §3, §6).

This module owns the one object the service builds and hands to each
listener's protocol factory: the configuration, the store, the cred portal,
the TLS options for STARTTLS, the reactor, and the connection counters that
``limits.max_connections`` and ``limits.max_connections_per_user`` are
enforced against, and the failed logins per address
(``limits.max_login_failures_per_ip``). It holds no per-connection state of
its own beyond those counters and the set of live protocols (so that a stop
can close them).
"""

from __future__ import annotations

from typing import Any

from ..auth.ratelimit import LoginFailures
from ..config import Config
from .metrics import NO_METRICS


class ServerContext:
    def __init__(self, config: Config, store: Any, portal: Any,
                 tls_options: Any | None, reactor: Any) -> None:
        self.config = config
        self.store = store              # IStore
        self.portal = portal            # twisted.cred.portal.Portal
        self.tls_options = tls_options  # CertificateOptions for STARTTLS, or None
        self.reactor = reactor
        self.connections: int = 0
        self.connections_by_user: dict[str, int] = {}
        # Failed logins per client address, against password guessing.
        limits = config.limits
        self.login_failures = LoginFailures(limits.max_login_failures_per_ip,
                                            limits.login_failure_window_seconds, reactor.seconds)
        # Protocols add themselves on connectionMade and discard themselves on
        # connectionLost; RunningServer.stop() closes what is left.
        self.protocols: set[Any] = set()
        # server.metrics.Metrics when [metrics] endpoint is set; else counts nothing.
        self.metrics: Any = NO_METRICS
        # server.handoff.Handoff in a worker process ([server] workers > 1):
        # moves a login to the worker that owns the user; None in one process.
        self.handoff: Any = None
        # In such a worker with [metrics] endpoint: its page, for the control socket's "metrics".
        self.exposition: Any = None
