"""Retry timing for the poller and the event sender: jittered intervals, exponential backoff and
`Retry-After`. Pure functions of their inputs (the random source is a parameter), so the tests
check the arithmetic exactly."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

# Never wait longer than this, whatever a server says (a typo'd Retry-After must not park a
# process for a day).
MAX_RETRY_AFTER = 3600.0

Random = Callable[[], float]


def jittered(interval: float, jitter: float, rand: Random = random.random) -> float:
    """The wait before the next regular poll: `interval` shortened by up to `jitter` (a
    fraction), so many processes started together spread out, and a change is still seen within
    one `interval`."""
    return interval * (1.0 - jitter * rand())


def backoff(failures: int, base: float, cap: float, rand: Random = random.random) -> float:
    """The wait after `failures` consecutive failures (>= 1): exponential, capped, with "equal
    jitter" (half fixed, half random), so a fleet does not retry in lockstep yet never retries
    immediately.

    `failures=1` waits between base and 2*base ... capped at `cap`: in [cap/2, cap].
    """
    ceiling = min(cap, base * (2.0 ** min(failures, 32)))
    return ceiling / 2.0 + ceiling / 2.0 * rand()


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a `Retry-After` header: delta-seconds or an HTTP-date (RFC 9110).
    None when absent or unreadable; clamped to [0, MAX_RETRY_AFTER]."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            moment = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        seconds = (moment - (now or datetime.now(UTC))).total_seconds()
    if seconds != seconds:  # NaN
        return None
    return max(0.0, min(MAX_RETRY_AFTER, seconds))


def retry_delay(
    failures: int,
    base: float,
    cap: float,
    retry_after: float | None = None,
    rand: Random = random.random,
) -> float:
    """The wait after a failure: the backoff, but never less than the server's Retry-After."""
    delay = backoff(failures, base, cap, rand)
    if retry_after is not None:
        delay = max(delay, retry_after)
    return delay
