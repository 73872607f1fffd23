"""Fixed-window rate limits (per minute), never over the limit across processes with Redis.

`rate_limit_check([(bucket, limit_per_minute), ...])` counts one request against every bucket
and returns None when all of them allow it, or the seconds to wait (for `Retry-After`) when one
is full. It is all or nothing: a refused request is counted nowhere, so a caller hammering its
own per-IP limit does not use up the per-key ceiling that every other caller shares.
`rate_limit_hit(bucket, limit)` is the one-bucket form.

With Redis, a process reserves slices of a bucket's allowance (one atomic Lua call per slice)
and spends them locally (delivery/slices.py): the steady state makes no round trip. The fleet
never admits more than the limit per window; a process may refuse early by at most the unused
slices other processes hold (the bound: delivery/slices.py, docs/security.md "Rate limits";
tests/delivery/test_limits_exact.py). `FLAGSITE_RATE_LIMIT_SLICE` caps a slice (1: one round
trip per request, exact). Without Redis (the embedded default, an in-process cache) each
process counts exactly for itself.

If Redis is down, requests are still limited, per process (fail open to local counting): rate
limiting must never take the service down with it. After a failure Redis is left alone for a few
seconds, so a dead Redis costs one failed attempt, not one per request; meanwhile every request
is counted locally, slices held or not (as before slices).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.core.signals import setting_changed

from . import slices

log = logging.getLogger(__name__)

RETRY_AFTER_FAILURE = 5.0
MAX_BUCKETS = 100_000
WINDOW = 60
KEY_TTL = 2 * WINDOW

MAX_SLICE = 1000  # FLAGSITE_RATE_LIMIT_SLICE is clamped to 1 - MAX_SLICE (delivery.checks)

_lock = threading.Lock()
_down_until = 0.0
_local: dict[tuple[str, int], int] = {}  # (bucket, window) -> count, when counting in-process
_script: Any = None
_redis: bool | None = None  # is the default cache Redis? (caches["default"] costs ~3 us a call)


def _uses_redis() -> bool:
    global _redis
    if _redis is None:
        _redis = isinstance(caches["default"], RedisCache)
    return _redis


def _setting_changed(*, setting: str, **kwargs: Any) -> None:
    global _redis
    if setting == "CACHES":
        _redis = None


setting_changed.connect(_setting_changed)


def _redis_client(backend: RedisCache) -> Any:
    """The redis-py client of the backend's write pool, made once per backend (Django's
    `get_client` builds a new `redis.Redis`, with its ~170 response callbacks, on every call:
    that was the largest single cost of a delivery request; docs/benchmarks.md, "API")."""
    cache_client: Any = backend._cache
    client = getattr(cache_client, "_flagsite_rl_client", None)
    if client is None:
        # Django's RedisCache has no scripting API; its client does (one pool per server).
        client = cache_client.get_client(None, write=True)
        cache_client._flagsite_rl_client = client
    return client


def slice_max() -> int:
    """FLAGSITE_RATE_LIMIT_SLICE, clamped to 1 - MAX_SLICE."""
    return min(MAX_SLICE, max(1, int(getattr(settings, "FLAGSITE_RATE_LIMIT_SLICE", 100) or 1)))


def _reserve(needs: Sequence[tuple[str, int, int]], window: int) -> Any:
    """One round trip: reserve units of every (bucket, limit, wanted) (slices.RESERVE)."""
    global _script
    backend: Any = caches["default"]
    keys = [backend.make_and_validate_key(f"rl:{bucket}:{window}") for bucket, _, _ in needs]
    client = _redis_client(backend)
    if _script is None:
        _script = client.register_script(slices.RESERVE)
    args = [limit for _, limit, _ in needs] + [want for _, _, want in needs]
    return _script(keys=keys, args=[*args, KEY_TTL, slices.SPREAD, slices.TAIL], client=client)


def _local_check(buckets: Sequence[tuple[str, int]], window: int) -> bool:
    with _lock:
        if len(_local) >= MAX_BUCKETS:
            for stale in [k for k in _local if k[1] != window]:
                del _local[stale]
            if len(_local) >= MAX_BUCKETS:
                _local.clear()
        if any(_local.get((bucket, window), 0) >= limit for bucket, limit in buckets):
            return False
        for bucket, _ in buckets:
            _local[(bucket, window)] = _local.get((bucket, window), 0) + 1
        return True


def rate_limit_check(buckets: Sequence[tuple[str, int]], *, now: float | None = None) -> int | None:
    """Count one request in every bucket (limits <= 0 are off); None, or seconds to wait."""
    global _down_until
    for _, limit in buckets:
        if limit > 0:
            break
    else:
        return None
    now = time.time() if now is None else now
    window = int(now // WINDOW)
    admitted: bool | None = None
    if _uses_redis():
        for attempt in range(3):  # None: waited for another thread's reservation
            if time.monotonic() < _down_until:
                break
            try:
                admitted = slices.spend(buckets, window, _reserve, slice_max, patient=attempt < 2)
            except Exception:
                with _lock:
                    _down_until = time.monotonic() + RETRY_AFTER_FAILURE
                log.warning("rate limit store unreachable; counting in this process", exc_info=True)
                break
            if admitted is not None:
                break
    if admitted is None:
        admitted = _local_check([(b, int(limit)) for b, limit in buckets if limit > 0], window)
    if admitted:
        return None
    return max(1, int((window + 1) * WINDOW - now) + 1)


def rate_limit_hit(bucket: str, limit_per_minute: int, *, now: float | None = None) -> int | None:
    return rate_limit_check([(bucket, limit_per_minute)], now=now)


def rate_limit_reset() -> None:
    """Forget local counts and slices and any recorded store failure (tests)."""
    global _down_until, _script, _redis
    with _lock:
        _down_until = 0.0
        _script = None
        _redis = None
        _local.clear()
    slices.reset()
