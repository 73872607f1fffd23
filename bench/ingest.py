"""Ingestion benchmark: POST /api/v1/events against the production server on PostgreSQL.

    .venv/bin/python bench/ingest.py [--events 50000] [--batch 1000] [--single 2000]
                                     [--workers 2] [--concurrency 4] [--retry-fraction 0.1]
                                     [--server-side-binding]

Creates the database (DATABASE_URL, default postgres://postgres@127.0.0.1:5432/
flagsite_ingest_bench; dropped and recreated), migrates it, loads the demo keys, starts gunicorn
on loopback, and from a separate process posts:

1. `--events` unique events (70% llm_call, 20% exposure, 10% implicit) in batches of `--batch`,
   then re-sends `--retry-fraction` of those batches as deliberate retries;
2. `--single` more unique events, one request per event.

Afterwards it counts the rows: they must equal the unique events sent (nothing lost, nothing
doubled), and the answers must report every retried event as a duplicate. Prints events/s for
both ways of sending. Every request has a timeout, and the whole run is bounded.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import sys
import threading
import time
from dataclasses import dataclass
from queue import Empty, Queue
from typing import Any
from urllib.parse import urlparse

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from bench._server import database_prepare, database_recreate, server_env, server_start

DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/flagsite_ingest_bench"
SERVER_KEY = "fs_srv_demo_development_server_key"
REQUEST_TIMEOUT = 60.0
RUN_TIMEOUT = 900.0


def event(n: int, prefix: str) -> dict[str, Any]:
    kind = n % 10
    base = {"id": f"{prefix}-{n}"}
    if kind < 7:
        return base | {
            "type": "llm_call",
            "request_id": f"req-{n}",
            "conversation_id": f"conv-{n // 5}",
            "user_key": f"user-{n % 997}",
            "user_tier": "paid" if n % 3 else "free",
            "feature": "chat",
            "model": "gpt-4-turbo" if n % 2 else "gpt-4",
            "prompt_tokens": 500 + n % 1500,
            "completion_tokens": 100 + n % 700,
            "ttft_ms": 180.5,
            "latency_ms": 900 + n % 2000,
            "error": n % 50 == 0,
            "flags": {"llm-model": "gpt-4-turbo" if n % 2 else "gpt-4", "prompt-version": "v2.0"},
        }
    if kind < 9:
        return base | {
            "type": "exposure",
            "flag": "llm-model",
            "variant": "gpt-4",
            "user_key": f"user-{n}",
        }
    return base | {"type": "implicit", "conversation_id": f"conv-{n // 5}", "signal": "copied"}


@dataclass
class Totals:
    requests: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    errors: int = 0


def _send_all(url: str, bodies: list[bytes], concurrency: int) -> tuple[Totals, float]:
    """POST every body with `concurrency` keep-alive connections; returns totals and seconds."""
    parsed = urlparse(url)
    host = parsed.hostname
    if host is None:
        raise SystemExit(f"not a server URL: {url}")
    work: Queue[bytes] = Queue()
    for body in bodies:
        work.put(body)
    totals = Totals()
    lock = threading.Lock()
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {SERVER_KEY}"}

    def worker() -> None:
        conn = http.client.HTTPConnection(host, parsed.port, timeout=REQUEST_TIMEOUT)
        while True:
            try:
                body = work.get_nowait()
            except Empty:
                break
            try:
                conn.request("POST", "/api/v1/events", body=body, headers=headers)
                response = conn.getresponse()
                answer = json.loads(response.read())
                ok = response.status in (200, 400) and "accepted" in answer
            except (OSError, ValueError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection(host, parsed.port, timeout=REQUEST_TIMEOUT)
                ok, answer = False, {}
            with lock:
                totals.requests += 1
                if not ok:
                    totals.errors += 1
                    continue
                totals.accepted += answer["accepted"]
                totals.duplicates += answer["duplicates"]
                totals.rejected += len(answer["rejected"])
        conn.close()

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=RUN_TIMEOUT)
    return totals, time.perf_counter() - started


def server_cpu_seconds(master_pid: int) -> float:
    """CPU time (user + system) used so far by the gunicorn workers (children of the master):
    a figure the other processes on a shared machine do not distort, unlike wall time."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == master_pid:  # ppid
            total += (int(fields[11]) + int(fields[12])) / tick  # utime + stime
    return total


def client_run(url: str, args: dict[str, Any], out: Any, master_pid: int) -> None:
    """Runs in its own process, so the client's JSON work is not charged to the server's."""
    n, size = args["events"], args["batch"]
    events = [event(i, "batch") for i in range(n)]
    bodies = [json.dumps({"events": events[i : i + size]}).encode() for i in range(0, n, size)]
    step = round(1 / args["retry_fraction"]) if args["retry_fraction"] > 0 else 0
    # Every step-th batch goes out twice, right after itself: with several connections the
    # copy often runs concurrently with the original, as a client retrying on a timeout would.
    mixed: list[bytes] = []
    retried_events = 0
    for index, body in enumerate(bodies):
        mixed.append(body)
        if step and (index + 1) % step == 0:
            mixed.append(body)
            retried_events += len(json.loads(body)["events"])
    cpu_start = server_cpu_seconds(master_pid)
    batch_totals, batch_seconds = _send_all(url, mixed, args["concurrency"])
    cpu_batch = server_cpu_seconds(master_pid) - cpu_start
    singles = [json.dumps({"events": [event(i, "single")]}).encode() for i in range(args["single"])]
    cpu_start = server_cpu_seconds(master_pid)
    single_totals, single_seconds = _send_all(url, singles, args["concurrency"])
    cpu_single = server_cpu_seconds(master_pid) - cpu_start
    out.put(
        {
            "batch": vars(batch_totals) | {"seconds": batch_seconds, "cpu": cpu_batch},
            "retried_events": retried_events,
            "single": vars(single_totals) | {"seconds": single_seconds, "cpu": cpu_single},
        }
    )


def rows_count(database_url: str) -> int:
    import psycopg

    with psycopg.connect(database_url.replace("postgres://", "postgresql://", 1)) as conn:
        return sum(
            conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # type: ignore[index]
            for table in ("feedback_llmcall", "feedback_exposure", "feedback_implicitsignal")
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--batch", type=int, default=1_000)
    parser.add_argument("--single", type=int, default=2_000)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers")
    parser.add_argument("--concurrency", type=int, default=4, help="client connections")
    parser.add_argument("--retry-fraction", type=float, default=0.1)
    parser.add_argument(
        "--server-side-binding",
        action="store_true",
        help="let the server send query parameters separately (psycopg server-side binding)",
    )
    args = parser.parse_args()
    database_url = os.environ.get("DATABASE_URL") or DEFAULT_DB
    print(f"database {database_url}; preparing (drop, create, migrate, demo keys)...", flush=True)
    database_recreate(database_url)
    server_url = database_url
    if args.server_side_binding:
        server_url += ("&" if "?" in server_url else "?") + "server_side_binding=true"
    env = server_env(
        DATABASE_URL=server_url, FLAGSITE_RATE_LIMIT_PER_MINUTE="0", LOG_LEVEL="WARNING"
    )
    env.pop("REDIS_URL", None)  # rate limits are off; the cache plays no part in ingestion
    database_prepare(env)
    with server_start(env, workers=args.workers, ready_path="/feedback/widget.js") as server:
        binding = "server" if args.server_side_binding else "client"
        print(f"gunicorn: {args.workers} sync workers at {server.url}; {binding}-side binding")
        ctx = multiprocessing.get_context("spawn")
        out = ctx.Queue()
        client = ctx.Process(
            target=client_run, args=(server.url, vars(args), out, server.process.pid)
        )
        client.start()
        result = out.get(timeout=RUN_TIMEOUT)
        client.join(timeout=30)
    rows = rows_count(database_url)
    batch, single = result["batch"], result["single"]
    unique = args.events + args.single
    batch_rate = args.events / batch["seconds"]
    single_rate = args.single / single["seconds"]
    print()
    header = f"{'mode':<26}{'events':>8}{'requests':>9}{'seconds':>9}{'events/s':>10}"
    print(header + f"{'web CPU s':>10}{'events per web CPU s':>22}")
    for label, count, row, rate in (
        (f"batches of {args.batch} (+retries)", args.events, batch, batch_rate),
        ("one request per event", args.single, single, single_rate),
    ):
        per_cpu = count / row["cpu"] if row["cpu"] else float("nan")
        print(
            f"{label:<26}{count:>8}{row['requests']:>9}{row['seconds']:>9.2f}{rate:>10.0f}"
            f"{row['cpu']:>10.1f}{per_cpu:>22.0f}"
        )
    print()
    print(
        f"batch answers: accepted {batch['accepted']}, duplicates {batch['duplicates']} "
        f"(retried events: {result['retried_events']}), rejected {batch['rejected']}, "
        f"errors {batch['errors']}"
    )
    print(f"rows in the database: {rows} (unique events sent: {unique})")
    ok = (
        rows == unique
        and batch["accepted"] + single["accepted"] == unique
        and batch["duplicates"] == result["retried_events"]
        and batch["errors"] == single["errors"] == 0
    )
    print("OK: nothing lost, nothing doubled" if ok else "FAILED: counts do not add up")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
