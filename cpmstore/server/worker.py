"""One worker process of a server with ``[server] workers`` > 1 (``server.workers``).

Run by the supervisor as ``python -m cpmstore.server.worker INDEX COUNT RUN_DIR FDS``
where FDS lists the inherited listening sockets as ``fd:family`` in listener
order; the configuration comes pickled on standard input, length first, and
standard input then stays open: its end means the supervisor is gone, and
the worker stops. SIGTERM stops it as it stops ``twistd``: listeners closed,
sessions closed, stores closed. This module only wires a worker up; the
service tree is ``service.make_service``'s, with a ``workers.WorkerRole``.
"""

from __future__ import annotations

import os
import sys
from typing import Sequence

from twisted.internet.abstract import FileDescriptor
from twisted.logger import FileLogObserver, Logger, formatEvent, globalLogBeginner

log = Logger()


class _SupervisorGone(FileDescriptor):
    """Watches standard input: end of file is the supervisor's end."""

    def __init__(self, reactor) -> None:
        super().__init__(reactor)
        self.reactor = reactor

    def fileno(self) -> int:
        return 0

    def doRead(self):
        try:
            data = os.read(0, 4096)
        except BlockingIOError:
            return None
        if not data:
            self.stopReading()
            log.info("the supervisor is gone; stopping")
            if self.reactor.running:
                self.reactor.stop()
        return None


def _observer(config):
    from .logs import make_observer

    observer = make_observer(config.logging)
    if observer is not None:
        return observer
    # Text for twistd's log: the supervisor reads these lines and logs them
    # with its own time stamps, so only the message goes.
    return FileLogObserver(sys.stdout, _message)


def _message(event: dict) -> str:
    text = formatEvent(event) or ""
    failure = event.get("log_failure")
    if failure is not None:
        text += "\n" + failure.getTraceback()
    return text + "\n"


def pin_to_cpu(index: int) -> int | None:
    """Run this process on one CPU of those it may use, chosen by worker
    ``index``; returns it (None where the OS cannot pin). Called before any
    thread starts: a thread inherits the CPUs of the one that starts it.

    A worker is one reactor thread and the store threads, which hand the GIL
    to each other dozens of times per command. Left to the scheduler, those
    hand-overs wake threads on the other core, where the other worker and
    the clients also run; on one core they wait for each other without
    crossing over. Measured on the 2-core benchmark machine (the persistent
    mix, 2 workers, alternated three times): 3,408 / 3,663 / 3,352 commands/s
    pinned against 3,010 / 2,790 / 2,975, APPEND p50 7-8 ms against 10-11."""
    if not hasattr(os, "sched_setaffinity"):
        return None
    allowed = sorted(os.sched_getaffinity(0))
    cpu = allowed[index % len(allowed)]
    try:
        threads = [int(tid) for tid in os.listdir("/proc/self/task")]
    except OSError:
        threads = [0]  # this thread; none other has started yet
    for tid in threads:
        os.sched_setaffinity(tid, {cpu})
    log.info("worker {index} runs on CPU {cpu}", index=index, cpu=cpu)
    return cpu


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    index, count, run_dir, fds = int(args[0]), int(args[1]), args[2], args[3]
    listen_fds = tuple((int(fd), int(family)) for fd, family in
                       (item.split(":") for item in fds.split(",") if item))

    from .workers import WorkerRole, read_config

    config = read_config(sys.stdin.buffer)
    globalLogBeginner.beginLoggingTo([_observer(config)], redirectStandardIO=False)
    if config.server.pin_workers:
        pin_to_cpu(index)

    from twisted.internet import reactor

    from ..service import make_service

    service = make_service(config, reactor, worker=WorkerRole(index, count, run_dir, listen_fds),
                           reload_on_sighup=True)
    os.set_blocking(0, False)
    _SupervisorGone(reactor).startReading()

    def start() -> None:
        try:
            service.startService()
        except Exception:
            # Exit, so that the supervisor sees it and tries again, rather
            # than live on without listeners.
            log.failure("worker {index} could not start", index=index)
            reactor.stop()

    reactor.callWhenRunning(start)
    reactor.addSystemEventTrigger("before", "shutdown", service.stopService)
    reactor.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
