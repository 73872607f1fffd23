"""API benchmark: the production server (gunicorn) on PostgreSQL + Redis, driven over loopback by
a separate load process.

    .venv/bin/python bench/api.py [--requests 3000] [--seconds 15] [--concurrency 4] [--workers 2]

DATABASE_URL / REDIS_URL choose the services (defaults: postgres://postgres@127.0.0.1:5432/
flagsite_bench and redis://127.0.0.1:6379/9). The database is dropped and recreated, migrated,
loaded with the demo data plus flags up to 20. Prints req/s, p50 and p99 for each scenario and
the ratio to a minimal Django view returning fixed JSON in the same server.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._server import (
    database_prepare,
    database_recreate,
    manage,
    server_env,
    server_start,
)

SERVER_KEY = "fs_srv_demo_development_server_key"
CLIENT_KEY = "fs_cli_demo_development_client_key"
CONTEXT = {"targetingKey": "user-123", "tier": "paid", "email": "ana@example.com"}

MORE_FLAGS = """
from flags.changes import Actor, flag_config_update, flag_create
from flags.models import Environment, Flag
actor = Actor(label="bench")
dev = Environment.objects.get(key="development")
n = 0
while Flag.objects.count() < 20:
    n += 1
    flag = flag_create(key=f"bench-flag-{n}", name="", kind="boolean", actor=actor,
                       variants=[{"key": "on", "value": True}, {"key": "off", "value": False}])
    flag_config_update(flag=flag, environment=dev, actor=actor, enabled=True, rules=[
        {"id": "paid", "clauses": [{"attribute": "tier", "op": "in", "values": ["paid"]}],
         "rollout": {"percentage": 50, "bucket_by": "key"}, "serve": {"variant": "on"}}],
        default={"split": [{"variant": "on", "weight": 10}, {"variant": "off", "weight": 90}],
                 "bucket_by": "key"})
print(Flag.objects.count())
"""


def scenarios(etag: str) -> dict[str, tuple[str, str, bytes | None, dict[str, str]]]:
    body = json.dumps({"context": CONTEXT}).encode()
    json_type = {"Content-Type": "application/json"}
    return {
        "minimal Django view": ("GET", "/bench/minimal", None, {}),
        "evaluate (20 flags)": (
            "POST",
            "/api/v1/evaluate",
            body,
            {**json_type, "Authorization": f"Bearer {CLIENT_KEY}"},
        ),
        "ruleset download": (
            "GET",
            "/api/v1/sdk/ruleset",
            None,
            {"Authorization": f"Bearer {SERVER_KEY}"},
        ),
        "ruleset 304": (
            "GET",
            "/api/v1/sdk/ruleset",
            None,
            {"Authorization": f"Bearer {SERVER_KEY}", "If-None-Match": etag},
        ),
        "OFREP single flag": (
            "POST",
            "/ofrep/v1/evaluate/flags/llm-model",
            body,
            {**json_type, "X-API-Key": CLIENT_KEY},
        ),
    }


# --- the load process ------------------------------------------------------------------------


def load(url: str, spec: dict[str, Any]) -> dict[str, Any]:
    """Run one scenario: `concurrency` threads, new connection per request (gunicorn's sync
    workers close it anyway), at most `requests` requests or `seconds` seconds."""
    host, port = url.removeprefix("http://").split(":")
    method, path, body = spec["method"], spec["path"], spec["body"]
    body_bytes = body.encode() if body is not None else None
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    remaining = [spec["requests"]]
    stop_at = time.monotonic() + spec["seconds"]

    def worker() -> None:
        mine: list[float] = []
        codes: dict[int, int] = {}
        while time.monotonic() < stop_at:
            with lock:
                if remaining[0] <= 0:
                    break
                remaining[0] -= 1
            started = time.perf_counter()
            conn = http.client.HTTPConnection(host, int(port), timeout=30)
            conn.request(method, path, body=body_bytes, headers=spec["headers"])
            response = conn.getresponse()
            response.read()
            conn.close()
            mine.append(time.perf_counter() - started)
            codes[response.status] = codes.get(response.status, 0) + 1
        with lock:
            latencies.extend(mine)
            for code, count in codes.items():
                statuses[code] = statuses.get(code, 0) + count

    for _ in range(min(50, spec["requests"])):  # warm-up, not measured
        conn = http.client.HTTPConnection(host, int(port), timeout=30)
        conn.request(method, path, body=body_bytes, headers=spec["headers"])
        conn.getresponse().read()
        conn.close()
    threads = [threading.Thread(target=worker) for _ in range(spec["concurrency"])]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "count": len(latencies),
        "rps": len(latencies) / elapsed,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000,
        "statuses": statuses,
    }


# --- the driver ------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000, help="per scenario")
    parser.add_argument("--seconds", type=float, default=20.0, help="per scenario, at most")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds")
    parser.add_argument("--load", nargs=2, metavar=("URL", "SPEC"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.load:
        print(json.dumps(load(args.load[0], json.loads(args.load[1]))))
        return

    db = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/flagsite_bench")
    redis = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/9")
    env = server_env(
        DATABASE_URL=db,
        REDIS_URL=redis,
        DJANGO_SETTINGS_MODULE="bench.settings",
        # Counted in Redis on every request like in production, but never reached (the client
        # key's requests all come from one address here).
        FLAGSITE_RATE_LIMIT_PER_MINUTE=str(10**9),
        FLAGSITE_RATE_LIMIT_CLIENT_PER_IP=str(10**9),
        FLAGSITE_RATE_LIMIT_CLIENT_PER_KEY=str(10**9),
        LOG_LEVEL="WARNING",
    )
    print(f"database {db}, redis {redis}: recreating, migrating, loading demo data", flush=True)
    database_recreate(db)
    database_prepare(env)
    print(f"flags: {manage(env, 'shell', '-c', MORE_FLAGS).strip()}", flush=True)
    with server_start(env, workers=args.workers) as server:
        conn = http.client.HTTPConnection(server.url.removeprefix("http://"))
        conn.request(
            "GET", "/api/v1/sdk/ruleset", headers={"Authorization": f"Bearer {SERVER_KEY}"}
        )
        response = conn.getresponse()
        response.read()
        etag = response.getheader("ETag") or ""
        print(
            f"gunicorn {args.workers} sync workers at {server.url}; load: {args.concurrency} "
            f"connections; {args.rounds} interleaved rounds of {args.requests // args.rounds} "
            f"requests (or {args.seconds / args.rounds:.1f}s) per scenario\n"
        )
        # Interleaved rounds, median req/s: other work on a shared machine drifts over minutes
        # and would otherwise favour whichever scenario ran in a quiet moment.
        runs: dict[str, list[dict[str, Any]]] = {}
        for _ in range(args.rounds):
            for name, (method, path, body, headers) in scenarios(etag).items():
                spec = {
                    "method": method,
                    "path": path,
                    "headers": headers,
                    "body": body.decode() if body else None,
                    "requests": args.requests // args.rounds,
                    "seconds": args.seconds / args.rounds,
                    "concurrency": args.concurrency,
                }
                out = subprocess.run(
                    [sys.executable, __file__, "--load", server.url, json.dumps(spec)],
                    capture_output=True,
                    text=True,
                    check=True,
                    timeout=args.seconds * 4 + 120,
                )
                runs.setdefault(name, []).append(json.loads(out.stdout))
        print(
            f"{'scenario':<22} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'vs minimal':>11}  "
            "statuses"
        )
        base = statistics.median(r["rps"] for r in runs["minimal Django view"])
        for name, results in runs.items():
            rps = statistics.median(r["rps"] for r in results)
            p50 = statistics.median(r["p50_ms"] for r in results)
            p99 = statistics.median(r["p99_ms"] for r in results)
            statuses: dict[str, int] = {}
            for r in results:
                for code, count in r["statuses"].items():
                    statuses[code] = statuses.get(code, 0) + count
            print(
                f"{name:<22} {rps:>8.0f} {p50:>8.2f} {p99:>8.2f} {rps / base:>10.0%}  {statuses}",
                flush=True,
            )


if __name__ == "__main__":
    main()
