"""With Redis, limits are never over across threads and processes, and a process refuses early by
at most the unused slices the others hold (delivery/slices.py, docs/security.md "Rate limits").
Limits below 128 are counted one unit at a time, so they stay exact (the lazy local counting
that exact counting replaced admitted 138-146 of 100). Through real gunicorn processes:
tests/delivery/test_processes.py. The slice logic alone: test_slices.py."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from delivery import ratelimit, slices
from delivery.ratelimit import rate_limit_check
from tests.services import redis_url

pytestmark = pytest.mark.services

ROOT = Path(__file__).resolve().parents[2]
NOW = 1_800_000_000.0  # one fixed window for the whole burst, whatever the clock says


def largest_slice(limit: int, most: int = 100) -> int:
    """The documented bound on one slice (FLAGSITE_RATE_LIMIT_SLICE = most)."""
    return min(most, max(1, limit // slices.SPREAD))


@pytest.fixture
def redis_cache(settings: Any) -> str:
    url = redis_url()
    prefix = f"flagsite-test-exact-{uuid.uuid4().hex}"
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": url,
            "KEY_PREFIX": prefix,  # our own: never a flush, other runs may share this database
            # Generous: a timeout fails open (counted locally), which is not the subject here.
            "OPTIONS": {"socket_connect_timeout": 5, "socket_timeout": 5},
        }
    }
    settings.FLAGSITE_RATE_LIMIT_SLICE = 100
    return prefix


@pytest.fixture
def round_trips(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the reservations (Redis round trips) the checks make."""
    calls: list[int] = []
    reserve = ratelimit._reserve

    def counted(needs: Any, window: int) -> Any:
        calls.append(len(needs))
        return reserve(needs, window)

    monkeypatch.setattr(ratelimit, "_reserve", counted)
    return calls


def _burst(threads: int, calls: int, buckets: Any) -> list[int]:
    """Each thread makes `calls` checks; returns how many each thread got admitted."""
    admitted = [0] * threads
    start = threading.Barrier(threads)

    def run(i: int) -> None:
        start.wait()
        for _ in range(calls):
            if rate_limit_check(buckets(i), now=NOW) is None:
                admitted[i] += 1

    workers = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return admitted


def test_concurrent_threads_admit_exactly_a_small_limit(redis_cache: str) -> None:
    admitted = _burst(8, 40, lambda i: [("exact:key", 100)])
    assert sum(admitted) == 100


def test_per_ip_buckets_and_the_ceiling_are_exact_together(redis_cache: str) -> None:
    # Eight callers, 20 each at most, under a shared ceiling of 100: 8 x 30 attempts.
    admitted = _burst(8, 30, lambda i: [(f"exact:key:ip:{i}", 20), ("exact:key", 100)])
    assert sum(admitted) == 100
    assert max(admitted) <= 20


def test_one_process_admits_exactly_a_large_limit_in_few_round_trips(
    redis_cache: str, round_trips: list[int]
) -> None:
    admitted = _burst(8, 800, lambda i: [("exact:big", 5000)])  # 6,400 attempts
    assert sum(admitted) == 5000
    # Slices of 78 units (1/64 of the limit), shrinking to 1/8 of what is left near the limit:
    # ~100 reservations in sequence; with 8 threads, more near the limit (a thread that waited
    # twice for another's reservation takes one unit for itself), and one refusal per thread
    # at most (then a full bucket is remembered). Exact counting made 6,400.
    assert len(round_trips) < 400, len(round_trips)


def test_client_buckets_with_slices_admit_exactly_together(redis_cache: str) -> None:
    # Per-IP limits of 300 under a ceiling of 2,000: 8 callers x 400 attempts.
    admitted = _burst(8, 400, lambda i: [(f"exact:ck:ip:{i}", 300), ("exact:ck", 2000)])
    assert sum(admitted) == 2000
    assert max(admitted) <= 300


SCRIPT = """
import os, sys, time
import django
django.setup()
from django.conf import settings
settings.CACHES["default"]["KEY_PREFIX"] = sys.argv[1]
settings.CACHES["default"]["OPTIONS"] = {"socket_connect_timeout": 5, "socket_timeout": 5}
settings.FLAGSITE_RATE_LIMIT_SLICE = 100
from delivery.ratelimit import rate_limit_check
bucket, limit, start, now = sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5])
attempts, until_refused = int(sys.argv[6]), sys.argv[7] == "until-refused"
while time.time() < start:
    time.sleep(0.001)
admitted = refused = 0
for _ in range(attempts):
    if rate_limit_check([(bucket, limit)], now=now) is None:
        admitted += 1
    else:
        refused += 1
        if until_refused:
            break
print(admitted, refused)
"""


def _processes(prefix: str, n: int, bucket: str, limit: int, attempts: int, mode: str) -> Any:
    """n processes hitting one bucket at once; [(admitted, refused)] per process."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "flagsite.settings",
        "REDIS_URL": redis_url(),
        "SECRET_KEY": "test-only",
        "DEBUG": "true",
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "sdk")]),
    }
    start = time.time() + 6  # every process is up and waiting by then
    args = [prefix, bucket, str(limit), str(start), str(NOW), str(attempts), mode]
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", SCRIPT, *args],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(n)
    ]
    results = []
    for proc in procs:
        out, _ = proc.communicate(timeout=180)
        assert proc.returncode == 0
        admitted, refused = out.strip().splitlines()[-1].split()
        results.append((int(admitted), int(refused)))
    return results


def test_concurrent_processes_admit_exactly_a_small_limit(redis_cache: str) -> None:
    results = _processes(redis_cache, 4, "exact:procs", 100, 60, "fixed")
    assert sum(a for a, _ in results) == 100, results


def test_concurrent_processes_never_admit_more_than_a_large_limit(redis_cache: str) -> None:
    # 4 processes x 700 attempts at a limit of 2,000 (slices of up to 31 units).
    results = _processes(redis_cache, 4, "exact:procs-big", 2000, 700, "fixed")
    admitted = sum(a for a, _ in results)
    assert any(r for _, r in results), results  # the limit was reached
    assert 2000 - 3 * largest_slice(2000) <= admitted <= 2000, results


def test_early_refusals_are_bounded_by_the_slices_other_processes_hold(redis_cache: str) -> None:
    # Given this process holds a slice of the bucket and goes idle,
    limit = 3200
    assert rate_limit_check([("exact:idle", limit)], now=NOW) is None
    held = slices.held("exact:idle")
    assert 0 < held < largest_slice(limit)  # the slice, less the one unit just spent
    # when two other processes ask until they are refused,
    results = _processes(redis_cache, 2, "exact:idle", limit, limit, "until-refused")
    # then they admitted exactly the limit less what this one holds (the early refusal),
    assert sum(a for a, _ in results) == limit - 1 - held, results
    # and this process can still spend what it holds: the fleet admits exactly the limit.
    mine = [rate_limit_check([("exact:idle", limit)], now=NOW) is None for _ in range(held + 5)]
    assert mine == [True] * held + [False] * 5


def test_a_dead_redis_fails_open_to_counting_in_this_process(settings: Any) -> None:
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
            "OPTIONS": {"socket_connect_timeout": 0.25, "socket_timeout": 0.25},
        }
    }
    admitted = [rate_limit_check([("dead", 3)], now=NOW) is None for _ in range(5)]
    assert admitted == [True, True, True, False, False]
