"""With Redis, limits are exact across threads and processes: under a concurrent burst exactly
the limit is admitted (the lazy local counting this replaced admitted 138-146 of 100).
Through real gunicorn processes: tests/delivery/test_processes.py."""

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

from delivery.ratelimit import rate_limit_check
from tests.services import redis_url

pytestmark = pytest.mark.services

ROOT = Path(__file__).resolve().parents[2]
NOW = 1_800_000_000.0  # one fixed window for the whole burst, whatever the clock says


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
    return prefix


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


def test_concurrent_threads_admit_exactly_the_limit(redis_cache: str) -> None:
    admitted = _burst(8, 40, lambda i: [("exact:key", 100)])
    assert sum(admitted) == 100


def test_per_ip_buckets_and_the_ceiling_are_exact_together(redis_cache: str) -> None:
    # Eight callers, 20 each at most, under a shared ceiling of 100: 8 x 30 attempts.
    admitted = _burst(8, 30, lambda i: [(f"exact:key:ip:{i}", 20), ("exact:key", 100)])
    assert sum(admitted) == 100
    assert max(admitted) <= 20


SCRIPT = """
import os, sys, time
import django
django.setup()
from django.conf import settings
settings.CACHES["default"]["KEY_PREFIX"] = sys.argv[1]
settings.CACHES["default"]["OPTIONS"] = {"socket_connect_timeout": 5, "socket_timeout": 5}
from delivery.ratelimit import rate_limit_check
start = float(sys.argv[3])
while time.time() < start:
    time.sleep(0.001)
admitted = sum(
    rate_limit_check([(sys.argv[2], 100)], now=float(sys.argv[4])) is None for _ in range(60)
)
print(admitted)
"""


def test_concurrent_processes_admit_exactly_the_limit(redis_cache: str) -> None:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "flagsite.settings",
        "REDIS_URL": redis_url(),
        "SECRET_KEY": "test-only",
        "DEBUG": "true",
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "sdk")]),
    }
    start = time.time() + 5  # every process is up and waiting by then
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", SCRIPT, redis_cache, "exact:procs", str(start), str(NOW)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    counts = []
    for proc in procs:
        out, _ = proc.communicate(timeout=120)
        assert proc.returncode == 0
        counts.append(int(out.strip().splitlines()[-1]))
    assert sum(counts) == 100, counts


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
