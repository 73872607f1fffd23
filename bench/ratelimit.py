"""What one rate-limit check costs (delivery/ratelimit.py), next to a bare Redis round trip.

    REDIS_URL=redis://127.0.0.1:6379/0 .venv/bin/python bench/ratelimit.py [--calls N]

With Redis a process reserves slices of a bucket (one Lua call per slice) and spends them
locally (delivery/slices.py): the steady-state check is measured with the default slice
(`FLAGSITE_RATE_LIMIT_SLICE`, 100) and with a slice of 1, where every check is one round trip
(exact counting, as before slices). The baseline is a PING on the same connection pool, the
least a round trip can cost; the ratios are measured within one run, so they hold on a busy or
drifting machine where the absolute figures do not.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "sdk")]
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "flagsite.settings")
os.environ.setdefault("SECRET_KEY", "bench-only")
os.environ.setdefault("DEBUG", "true")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.cache import caches  # noqa: E402

from delivery.ratelimit import _local_check, rate_limit_check, rate_limit_reset  # noqa: E402

BIG = 10**12  # never reached: every check is admitted, the common case


def per_call_us(fn: Any, calls: int) -> float:
    for _ in range(min(calls // 10, 500)):  # warm up: connections, script loaded
        fn()
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        best = min(best, (time.perf_counter() - start) / calls * 1e6)
    return best


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=5000)
    args = parser.parse_args()
    if not os.environ.get("REDIS_URL"):
        sys.exit("set REDIS_URL=redis://127.0.0.1:6379/<db> (a database you may write to)")
    settings.CACHES["default"]["KEY_PREFIX"] = f"flagsite-bench-{uuid.uuid4().hex}"
    backend: Any = caches["default"]
    client = backend._cache.get_client("x", write=True)
    ping = per_call_us(client.ping, args.calls)
    settings.FLAGSITE_RATE_LIMIT_SLICE = 1
    one = per_call_us(lambda: rate_limit_check([("bench:key", BIG)]), args.calls)
    two = per_call_us(
        lambda: rate_limit_check([("bench:key:ip:198.51.100.1", BIG), ("bench:key", BIG)]),
        args.calls,
    )
    settings.FLAGSITE_RATE_LIMIT_SLICE = 100
    rate_limit_reset()
    one_sliced = per_call_us(lambda: rate_limit_check([("bench:key2", BIG)]), args.calls)
    two_sliced = per_call_us(
        lambda: rate_limit_check([("bench:key2:ip:198.51.100.1", BIG), ("bench:key2", BIG)]),
        args.calls,
    )
    rate_limit_reset()
    # The in-process path (no Redis configured, or Redis down), called the way the check calls it.
    local = per_call_us(lambda: _local_check([("bench:key", BIG)], 0), args.calls)
    print(f"calls per figure: {args.calls} (best of 3)")
    print(f"Redis PING round trip (baseline)              {ping:8.1f} us")
    print(f"check, 1 bucket (server key), slice 1         {one:8.1f} us   {one / ping:4.2f}x PING")
    print(f"check, 2 buckets (client key), slice 1        {two:8.1f} us   {two / ping:4.2f}x PING")
    print(f"check, 1 bucket, slices of 100 (default)      {one_sliced:8.1f} us   ", end="")
    print(f"{one_sliced / ping:4.2f}x PING")
    print(f"check, 2 buckets, slices of 100 (default)     {two_sliced:8.1f} us   ", end="")
    print(f"{two_sliced / ping:4.2f}x PING")
    print(f"check, 1 bucket, in-process (no Redis)        {local:8.1f} us")


if __name__ == "__main__":
    main()
