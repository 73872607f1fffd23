"""Fixed-window rate limits, shared between processes through the cache (Redis in production).

`rate_limit_hit(bucket, limit_per_minute)` counts one request and returns None when allowed, or
the number of seconds to wait (for `Retry-After`) when over the limit.

A Redis round trip per request would cost more than evaluating twenty flags, so each process
counts locally and adds its count to the shared counter (one INCRBY) at most every
FLAGSITE_RATE_LIMIT_SYNC_SECONDS (0.2 s), and on every request once the shared count is past
80 % of the limit. The price: near the start of a window, a fleet of N processes may admit up to
N × (requests per sync interval) more than the limit. Limits protect the service; they are not
billing.

If the cache is down, requests are allowed: rate limiting must never take the service down with
it. After a failure the cache is left alone for a few seconds, so a dead Redis costs one failed
attempt, not one per request.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from django.conf import settings
from django.core.cache import cache, caches
from django.core.cache.backends.redis import RedisCache

log = logging.getLogger(__name__)

RETRY_AFTER_FAILURE = 5.0
SYNC_BELOW_FRACTION = 0.8
MAX_BUCKETS = 100_000

_down_until = 0.0
_lock = threading.Lock()


class _Window:
    __slots__ = ("known", "pending", "synced_at", "window")

    def __init__(self, window: int) -> None:
        self.window = window
        self.known = 0  # the shared count after our last sync
        self.pending = 0  # our requests not yet added to the shared count
        self.synced_at = float("-inf")


_windows: dict[str, _Window] = {}


def _add_redis(backend: RedisCache, key: str, amount: int) -> int:
    full_key = backend.make_and_validate_key(key)
    # Django's RedisCache.incr() costs two round trips (EXISTS + INCRBY); use the client.
    client: Any = backend._cache.get_client(full_key, write=True)
    pipe = client.pipeline(transaction=False)
    pipe.incrby(full_key, amount)
    pipe.expire(full_key, 120, nx=True)
    count, _ = pipe.execute()
    return int(count)


def _add_generic(key: str, amount: int) -> int:
    if cache.add(key, amount, timeout=120):
        return amount
    try:
        return int(cache.incr(key, amount))
    except ValueError:  # expired between add and incr
        cache.set(key, amount, timeout=120)
        return amount


def _shared_add(key: str, amount: int) -> int:
    backend = caches["default"]
    if isinstance(backend, RedisCache):
        return _add_redis(backend, key, amount)
    return _add_generic(key, amount)


def _sync_seconds() -> float:
    return float(getattr(settings, "FLAGSITE_RATE_LIMIT_SYNC_SECONDS", 0.2))


def rate_limit_hit(bucket: str, limit_per_minute: int, *, now: float | None = None) -> int | None:
    global _down_until
    if limit_per_minute <= 0:
        return None
    now = time.time() if now is None else now
    window = int(now // 60)
    mono = time.monotonic()
    with _lock:
        state = _windows.get(bucket)
        if state is None or state.window != window:
            if len(_windows) >= MAX_BUCKETS:
                _windows.clear()
            state = _windows[bucket] = _Window(window)
        state.pending += 1
        due = (
            mono - state.synced_at >= _sync_seconds()
            or state.known + state.pending > limit_per_minute * SYNC_BELOW_FRACTION
        )
        amount = state.pending if due and mono >= _down_until else 0
        if amount:
            state.pending = 0
            state.synced_at = mono
    if amount:
        try:
            shared = _shared_add(f"rl:{bucket}:{window}", amount)
        except Exception:
            with _lock:
                _down_until = time.monotonic() + RETRY_AFTER_FAILURE
                state.pending += amount
            log.warning(
                "rate limit cache unreachable; counting in this process only", exc_info=True
            )
        else:
            with _lock:
                state.known = max(state.known, shared)
    if state.known + state.pending > limit_per_minute:
        return max(1, int((window + 1) * 60 - now) + 1)
    return None


def rate_limit_reset() -> None:
    """Forget local counts and any recorded cache failure (tests)."""
    global _down_until
    with _lock:
        _down_until = 0.0
        _windows.clear()
