"""auth.ratelimit: failed logins per address over a sliding window, on a fake clock."""

from __future__ import annotations

import pytest
from twisted.internet.task import Clock

from cpmstore.auth.ratelimit import LoginFailures, address_key

WINDOW = 300.0  # "5m"


def _fail(limiter: LoginFailures, key: str | None, times: int) -> None:
    for _ in range(times):
        assert not limiter.blocked(key)
        limiter.failed(key)


def test_issue10_refused_beyond_the_limit_until_the_window_passes() -> None:
    clock = Clock()
    limiter = LoginFailures(3, WINDOW, clock.seconds)
    _fail(limiter, "192.0.2.1", 3)
    assert limiter.blocked("192.0.2.1")
    clock.advance(WINDOW - 1)
    assert limiter.blocked("192.0.2.1")
    clock.advance(1)
    assert not limiter.blocked("192.0.2.1")


def test_issue10_window_slides_one_guess_per_expired_failure() -> None:
    clock = Clock()
    limiter = LoginFailures(3, WINDOW, clock.seconds)
    for _ in range(3):
        _fail(limiter, "192.0.2.1", 1)
        clock.advance(10)
    assert limiter.blocked("192.0.2.1")
    clock.advance(WINDOW - 30)  # the first failure (t=0) is now out of the window
    _fail(limiter, "192.0.2.1", 1)
    assert limiter.blocked("192.0.2.1")


def test_issue10_refused_attempts_do_not_extend_the_block() -> None:
    clock = Clock()
    limiter = LoginFailures(2, WINDOW, clock.seconds)
    _fail(limiter, "192.0.2.1", 2)
    for _ in range(100):
        clock.advance(1)
        assert limiter.blocked("192.0.2.1")
    clock.advance(WINDOW - 100)
    assert not limiter.blocked("192.0.2.1")


def test_issue10_only_failures_count() -> None:
    """Logins checked in parallel, or successful, never add to the count."""
    limiter = LoginFailures(3, WINDOW, Clock().seconds)
    assert [limiter.blocked("192.0.2.1") for _ in range(50)] == [False] * 50
    _fail(limiter, "192.0.2.1", 3)
    assert limiter.blocked("192.0.2.1")


def test_issue10_addresses_are_counted_apart() -> None:
    limiter = LoginFailures(2, WINDOW, Clock().seconds)
    _fail(limiter, "192.0.2.1", 2)
    assert limiter.blocked("192.0.2.1")
    assert not limiter.blocked("192.0.2.2")


@pytest.mark.parametrize("limit, window", [(0, WINDOW), (3, 0)])
def test_issue10_zero_is_no_limit(limit: int, window: float) -> None:
    limiter = LoginFailures(limit, window, Clock().seconds)
    _fail(limiter, "192.0.2.1", 1000)
    assert len(limiter) == 0


def test_issue10_non_ip_peers_are_not_limited() -> None:
    limiter = LoginFailures(1, WINDOW, Clock().seconds)
    _fail(limiter, None, 10)
    assert len(limiter) == 0


def test_issue10_tracked_addresses_are_capped_least_recent_first() -> None:
    clock = Clock()
    limiter = LoginFailures(2, WINDOW, clock.seconds, max_tracked=3)
    _fail(limiter, "192.0.2.1", 2)
    for n in range(2, 20):
        clock.advance(1)
        _fail(limiter, f"192.0.2.{n}", 2)
        assert len(limiter) <= 3
    assert not limiter.blocked("192.0.2.1")  # forgotten to make room


def test_issue10_expired_addresses_are_dropped() -> None:
    clock = Clock()
    limiter = LoginFailures(5, WINDOW, clock.seconds)
    for n in range(1, 101):
        _fail(limiter, f"192.0.2.{n}", 1)
    assert len(limiter) == 100
    clock.advance(WINDOW)
    _fail(limiter, "198.51.100.1", 1)
    assert len(limiter) == 1


@pytest.mark.parametrize("host, key", [
    ("192.0.2.7", "192.0.2.7"),
    ("::ffff:192.0.2.7", "192.0.2.7"),
    ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
    ("2001:db8:1:2:bbbb::9", "2001:db8:1:2::/64"),
    ("fe80::1%eth0", "fe80::/64"),
    ("", None),
    (None, None),
    ("/run/cpmstore.sock", None),
])
def test_issue10_address_key(host: str | None, key: str | None) -> None:
    assert address_key(host) == key


def test_issue10_config_keys_defaults_and_a_bad_window(tmp_path) -> None:
    from cpmstore.config import ConfigError, LimitsConfig, load_config

    assert (LimitsConfig().max_login_failures_per_ip, LimitsConfig().login_failure_window_seconds) == (10, 300)
    path = tmp_path / "c.toml"
    path.write_text('[limits]\nmax_login_failures_per_ip = 3\nlogin_failure_window = "90s"\n')
    limits = load_config(path).limits
    assert (limits.max_login_failures_per_ip, limits.login_failure_window_seconds) == (3, 90)
    path.write_text('[limits]\nlogin_failure_window = "5 minutes"\n')
    with pytest.raises(ConfigError, match="limits.login_failure_window"):
        load_config(path)
