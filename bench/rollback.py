"""Rollback latency: from the moment breaching events are accepted by one web process to the
moment `/api/v1/evaluate` in another web process serves the old configuration.

Real services: PostgreSQL, Redis, two gunicorn processes (A takes the events, B serves
evaluate) and one Celery worker on the `rollouts` queue, with the default settings (1 s ingest
debounce, 1 s ruleset check interval). Each breach: a fresh flag serving `old`, a started plan
serving `new` to 100 % of units, 60 failing LLM calls posted to A, then B polled every 20 ms.

    DATABASE_URL=postgres://... REDIS_URL=redis://... python bench/rollback.py [--breaches 20]

Prints p50 and max (docs/benchmarks.md, "Rollback latency"). tests/releases/
test_rollback_latency.py runs the same harness for two breaches and asserts the 30 s bound.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlparse, urlunparse

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._server import (
    PYTHON,
    ROOT,
    Server,
    database_prepare,
    database_recreate,
    manage,
    server_env,
    server_start,
)

SERVER_KEY = "fs_srv_demo_development_server_key"
CLIENT_KEY = "fs_cli_demo_development_client_key"
BOUND_SECONDS = 30.0

# Run in `manage.py shell`: a flag serving `old` in development and a started plan serving
# `new` to every unit (one phase of 100 %, a day long) with the default gates.
PLAN_SCRIPT = """
from decimal import Decimal
from flags.changes import Actor, flag_config_update, flag_create
from flags.models import Environment
from releases.plans import plan_create, plan_start
from releases.templates_builtin import PhaseSpec
actor = Actor(label="bench")
env = Environment.objects.get(key="development")
flag = flag_create(key=KEY, name=KEY, kind="string", actor=actor,
    variants=[{"key": "old", "value": "v1"}, {"key": "new", "value": "v2"}])
flag_config_update(flag=flag, environment=env, actor=actor, enabled=True,
    default={"variant": "old"})
plan = plan_create(flag=flag, environment=env, variant="new", replaces="old", actor=actor,
    template="", phases=[PhaseSpec("all", percentage=Decimal(100))])
plan_start(plan=plan, actor=actor)
"""


def _post(server: Server, path: str, body: Any, key: str) -> tuple[int, Any]:
    request = urllib.request.Request(
        server.url + path,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {key}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(errors="replace")


def served(server: Server, flag_key: str) -> str:
    status, data = _post(
        server, "/api/v1/evaluate", {"context": {"key": "u1"}, "flags": [flag_key]}, CLIENT_KEY
    )
    assert status == 200, data
    return str(data["flags"][flag_key]["variant"])


def breaching_events(flag_key: str, n: int = 60) -> list[dict[str, Any]]:
    return [
        {
            "id": str(uuid.uuid4()),
            "type": "llm_call",
            "model": "gpt",
            "user_key": f"u{i}",
            "latency_ms": 800,
            "error": True,
            "flags": {flag_key: "new"},
        }
        for i in range(n)
    ]


def _wait_for(server: Server, flag_key: str, want: str, timeout: float) -> float:
    start = time.monotonic()
    while served(server, flag_key) != want:
        if time.monotonic() - start > timeout:
            raise AssertionError(f"{flag_key}: B still does not serve {want!r} after {timeout}s")
        time.sleep(0.02)
    return time.monotonic() - start


def rollback_once(env: dict[str, str], a: Server, b: Server, index: int) -> float:
    """One breach; returns seconds from accepted events (on A) to the old value (on B)."""
    key = f"rollback-bench-{index}-{uuid.uuid4().hex[:6]}"
    manage(env, "shell", "-c", f"KEY = {key!r}\n" + PLAN_SCRIPT)
    _wait_for(b, key, "new", timeout=10)
    status, body = _post(a, "/api/v1/events", {"events": breaching_events(key)}, SERVER_KEY)
    accepted = time.monotonic()
    assert status in (200, 202), body
    _wait_for(b, key, "old", timeout=BOUND_SECONDS * 2)
    return time.monotonic() - accepted


@contextmanager
def worker_start(env: dict[str, str], log_dir: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A Celery worker consuming the rollouts queue (and the default one, for alert delivery)."""
    log = (log_dir / "rollouts-worker.log").open("wb")
    proc = subprocess.Popen(
        [
            PYTHON,
            "-m",
            "celery",
            "-A",
            "flagsite",
            "worker",
            "-Q",
            "rollouts,celery",
            "--pool=solo",
            "--loglevel=info",
            "--without-heartbeat",
            "--without-gossip",
            "--without-mingle",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        yield proc
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        log.close()


@contextmanager
def rollout_stack(database_url: str, redis_url: str, log_dir: Path) -> Iterator[Any]:
    """A fresh database `<name>_rollback`, two web processes and a rollouts worker."""
    parsed = urlparse(database_url)
    db = urlunparse(parsed._replace(path=parsed.path.rstrip("/") + "_rollback"))
    database_recreate(db)
    env = server_env(
        DATABASE_URL=db,
        REDIS_URL=redis_url,
        CELERY_BROKER_URL=redis_url,
        FLAGSITE_VAR_DIR=str(log_dir),
    )
    database_prepare(env)
    # Redis is shared with other runs: a stale debounce key or queued message must not count.
    manage(env, "shell", "-c", "from django.core.cache import cache; cache.clear()")
    with (
        worker_start(env, log_dir) as worker,
        server_start(env, log_dir=log_dir) as a,
        server_start(env, log_dir=log_dir) as b,
    ):
        yield env, a, b, worker


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--breaches", type=int, default=20)
    args = parser.parse_args()
    database_url = os.environ.get("DATABASE_URL", "")
    redis_url = os.environ.get("REDIS_URL", "")
    if not database_url.startswith("postgres") or not redis_url:
        sys.exit("needs DATABASE_URL=postgres://... and REDIS_URL=redis://...")
    log_dir = Path(os.environ.get("TMPDIR", "/tmp"))
    with rollout_stack(database_url, redis_url, log_dir) as (env, a, b, worker):
        delays = []
        for i in range(args.breaches):
            assert worker.poll() is None, "the worker died"
            delays.append(rollback_once(env, a, b, i))
            print(f"breach {i + 1:2d}: {delays[-1]:.2f} s", flush=True)
    delays.sort()
    print(
        f"rollback latency over {len(delays)} breaches: p50 {statistics.median(delays):.2f} s, "
        f"max {delays[-1]:.2f} s (bound {BOUND_SECONDS:.0f} s)"
    )


if __name__ == "__main__":
    main()
