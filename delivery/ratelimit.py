"""Fixed-window rate limits (per minute), exact across processes when Redis is the cache.

`rate_limit_check([(bucket, limit_per_minute), ...])` counts one request against every bucket
and returns None when all of them allow it, or the seconds to wait (for `Retry-After`) when one
is full. It is all or nothing: a refused request is counted nowhere, so a caller hammering its
own per-IP limit does not use up the per-key ceiling that every other caller shares.
`rate_limit_hit(bucket, limit)` is the one-bucket form.

With Redis, every check is one round trip: a Lua script reads the buckets and increments them
only if all are below their limits, atomically, so N processes admit exactly the limit, however
concurrent the burst (tests/delivery/test_limits_exact.py). Without Redis (the embedded default,
an in-process cache) each process counts exactly for itself.

If Redis is down, requests are still limited, per process (fail open to local counting): rate
limiting must never take the service down with it. After a failure Redis is left alone for a few
seconds, so a dead Redis costs one failed attempt, not one per request.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from typing import Any

from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache

log = logging.getLogger(__name__)

RETRY_AFTER_FAILURE = 5.0
MAX_BUCKETS = 100_000
WINDOW = 60
KEY_TTL = 2 * WINDOW

# KEYS: the buckets' counters for this window; ARGV: their limits, then the TTL.
# Returns 0 when admitted (every counter incremented), else the 1-based index of a full bucket.
_CHECK_AND_COUNT = """
local n = #KEYS
for i = 1, n do
  local count = tonumber(redis.call('GET', KEYS[i]) or '0')
  if count >= tonumber(ARGV[i]) then return i end
end
for i = 1, n do
  if redis.call('INCR', KEYS[i]) == 1 then redis.call('EXPIRE', KEYS[i], ARGV[n + 1]) end
end
return 0
"""

_lock = threading.Lock()
_down_until = 0.0
_local: dict[tuple[str, int], int] = {}  # (bucket, window) -> count, when counting in-process
_script: Any = None


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


def _redis_check(backend: RedisCache, buckets: Sequence[tuple[str, int]], window: int) -> bool:
    global _script
    keys = [backend.make_and_validate_key(f"rl:{bucket}:{window}") for bucket, _ in buckets]
    client = _redis_client(backend)
    if _script is None:
        _script = client.register_script(_CHECK_AND_COUNT)
    refused = _script(keys=keys, args=[limit for _, limit in buckets] + [KEY_TTL], client=client)
    return int(refused) == 0


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
    active = [(bucket, int(limit)) for bucket, limit in buckets if limit > 0]
    if not active:
        return None
    now = time.time() if now is None else now
    window = int(now // WINDOW)
    backend = caches["default"]
    admitted: bool | None = None
    if isinstance(backend, RedisCache) and time.monotonic() >= _down_until:
        try:
            admitted = _redis_check(backend, active, window)
        except Exception:
            with _lock:
                _down_until = time.monotonic() + RETRY_AFTER_FAILURE
            log.warning("rate limit store unreachable; counting in this process", exc_info=True)
    if admitted is None:
        admitted = _local_check(active, window)
    if admitted:
        return None
    return max(1, int((window + 1) * WINDOW - now) + 1)


def rate_limit_hit(bucket: str, limit_per_minute: int, *, now: float | None = None) -> int | None:
    return rate_limit_check([(bucket, limit_per_minute)], now=now)


def rate_limit_reset() -> None:
    """Forget local counts and any recorded store failure (tests)."""
    global _down_until, _script
    with _lock:
        _down_until = 0.0
        _script = None
        _local.clear()
