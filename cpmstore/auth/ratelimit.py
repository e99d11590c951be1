"""A per-address limit on failed logins, against password guessing (issue 10).

This module owns the count of failed logins per client address over a
sliding window (``[limits] max_login_failures_per_ip`` within
``login_failure_window``) and the answer "may this address try a password
now?". Once an address has that many failures in the window, every further
attempt is refused without the password being looked at, so a guesser learns
nothing until old failures age out: at most ``limit`` guesses per window.

Only wrong passwords count; successful logins never do, and neither do logins
still being checked: many clients behind one address (a NAT, a CPM
interworking function opening dozens of sessions at once) log in in parallel
without tripping the limit. A guesser running logins in parallel can get past
the limit only by the few that are checked at the same moment as the last
counted failure.

Memory is bounded: at most ``max_tracked`` addresses, each with at most
``limit`` timestamps; addresses whose failures are all older than the window
are dropped as the table is used, and when it is full the address that
failed least recently is forgotten first.

It never touches sockets, the reactor or the disk; the clock is a function
the caller gives (the reactor's ``seconds``, a ``task.Clock`` in tests).
"""

from __future__ import annotations

import ipaddress
from collections import OrderedDict, deque
from typing import Callable

__all__ = ["LoginFailures", "MAX_TRACKED_ADDRESSES", "address_key"]

# Enough for every address of a busy botnet to be remembered for the window;
# at most some 10 MB (about 1 KB an address: its key, deque and timestamps).
MAX_TRACKED_ADDRESSES = 10000


def address_key(host: str | None) -> str | None:
    """The key failures from ``host`` are counted under: an IPv4 address as
    itself (also when written IPv4-mapped), an IPv6 address by its /64 (one
    client is commonly given a whole /64, so single addresses are free to
    it); None (not limited) for what is not an IP address (a UNIX socket)."""
    if not host:
        return None
    try:
        address = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


class LoginFailures:
    """Failed logins per address key over the last ``window`` seconds.
    ``limit`` 0 (or ``window`` 0) never refuses anyone."""

    __slots__ = ("limit", "window", "max_tracked", "_clock", "_failures")

    def __init__(self, limit: int, window: float, clock: Callable[[], float],
                 max_tracked: int = MAX_TRACKED_ADDRESSES) -> None:
        self.limit = limit
        self.window = window
        self.max_tracked = max_tracked
        self._clock = clock
        # Ordered by most recent failure, oldest first: expired addresses
        # are found at the front, and eviction takes from there too.
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    @property
    def enabled(self) -> bool:
        return self.limit > 0 and self.window > 0 and self.max_tracked > 0

    def __len__(self) -> int:
        """How many addresses are tracked now."""
        return len(self._failures)

    def blocked(self, key: str | None) -> bool:
        """True if ``key`` has ``limit`` failures within the window: refuse
        its login without looking at the password."""
        if key is None or not self.enabled:
            return False
        now = self._clock()
        self._drop_expired(now)
        times = self._failures.get(key)
        if times is None:
            return False
        _age_out(times, now - self.window)
        if not times:
            del self._failures[key]
            return False
        return len(times) >= self.limit

    def failed(self, key: str | None) -> None:
        """A login from ``key`` had a wrong password (or no such user)."""
        if key is None or not self.enabled:
            return
        now = self._clock()
        self._drop_expired(now)
        times = self._failures.get(key)
        if times is None:
            while len(self._failures) >= self.max_tracked:
                self._failures.popitem(last=False)
            # maxlen: older failures than the last ``limit`` never matter.
            times = self._failures[key] = deque(maxlen=self.limit)
        times.append(now)
        self._failures.move_to_end(key)

    def _drop_expired(self, now: float) -> None:
        # The front holds the addresses that failed longest ago; the first
        # one with a failure inside the window ends the sweep, so each call
        # costs what it removes plus one.
        horizon = now - self.window
        while self._failures:
            key, times = next(iter(self._failures.items()))
            if times and times[-1] > horizon:
                return
            del self._failures[key]


def _age_out(times: deque[float], horizon: float) -> None:
    while times and times[0] <= horizon:
        times.popleft()
