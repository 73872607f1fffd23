"""Scale benchmark: what a change costs, and how fast it reaches another process, at 1,000 flags
and 20 segments of 10,000 user ids (a 3.7 MB ruleset), against the demo configuration (a few
flags) measured the same way in the same run.

    .venv/bin/python bench/scale.py [--flags 1000] [--segments 20] [--ids 10000] [--toggles 5]

DATABASE_URL / REDIS_URL choose the services (defaults: postgres://postgres@127.0.0.1:5432/
flagsite_scale and redis://127.0.0.1:6379/9). The database is dropped and recreated. Two gunicorn
servers (one sync worker each) share it: changes go through A's management API, B serves.

Figures, for the baseline and the scale configuration:
- import: `manage.py import_unleash` of the generated export, end to end (scale only);
- publish: one build + compile + cache write of the development ruleset (`ruleset_publish`);
- toggle latency: a toggle through A until B serves it (B checks the version every second, so
  this is at most the check interval plus loading the new version);
- evaluate p50 / p99 on B, idle and during a burst of toggles through A (B compiles each new
  version off the request path).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._server import (
    Server,
    database_prepare,
    database_recreate,
    manage,
    server_env,
    server_start,
)
from bench.scale_data import unleash_document

CLIENT_KEY = "fs_cli_demo_development_client_key"
TOKEN_SCRIPT = (
    "from django.contrib.auth import get_user_model\n"
    "from flags.api.tokens import personal_token_create\n"
    "user = get_user_model().objects.get(username='admin')\n"
    "print(personal_token_create(user=user, name='scale bench')[1])\n"
)
PUBLISH_SCRIPT = (
    "import time\n"
    "from flags.models import Environment\n"
    "from flags.publish import ruleset_publish\n"
    "env = Environment.objects.get(key='development')\n"
    "ruleset_publish(env.id)\n"
    "times = []\n"
    "for _ in range(3):\n"
    "    t = time.perf_counter()\n"
    "    p = ruleset_publish(env.id)\n"
    "    times.append(time.perf_counter() - t)\n"
    "print(min(times), len(p.body))\n"
)


def call(server: Server, method: str, path: str, body: Any, **headers: str) -> tuple[int, Any]:
    request = urllib.request.Request(
        server.url + path,
        data=json.dumps(body).encode(),
        method=method,
        headers={"Content-Type": "application/json", **headers},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return response.status, json.loads(response.read())


def reason(server: Server, flag: str) -> str:
    _, data = call(
        server,
        "POST",
        "/api/v1/evaluate",
        {"context": {"key": "zed"}, "flags": [flag]},
        Authorization=f"Bearer {CLIENT_KEY}",
    )
    return str(data["flags"][flag]["reason"])


def toggle(server: Server, token: str, flag: str, enabled: bool) -> None:
    status, _ = call(
        server,
        "POST",
        f"/api/v1/flags/{flag}/environments/development/toggle",
        {"enabled": enabled},
        Authorization=f"Token {token}",
    )
    assert status == 200


def toggle_latency(a: Server, b: Server, token: str, flag: str, count: int) -> list[float]:
    delays = []
    enabled = reason(b, flag) == "DISABLED"
    for _ in range(count):
        toggle(a, token, flag, enabled)
        changed = time.perf_counter()
        while (reason(b, flag) == "DISABLED") == enabled:
            if time.perf_counter() - changed > 60:
                raise RuntimeError(f"B never served the toggle of {flag}")
            time.sleep(0.01)
        delays.append(time.perf_counter() - changed)
        enabled = not enabled
    return delays


def evaluate_latencies(b: Server, flag: str, seconds: float) -> list[float]:
    out = []
    until = time.perf_counter() + seconds
    while time.perf_counter() < until:
        t = time.perf_counter()
        reason(b, flag)
        out.append(time.perf_counter() - t)
    return out


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def measure(
    label: str, env: dict[str, str], token: str, flag: str, toggles: int, **b_env: str
) -> dict[str, float]:
    out = manage(env, "shell", "-c", PUBLISH_SCRIPT).split()
    figures = {"publish_s": float(out[-2]), "ruleset_bytes": float(out[-1])}
    with server_start(env) as a, server_start(dict(env, **b_env)) as b:
        reason(b, flag)  # B's first load (the only one that blocks a request)
        delays = toggle_latency(a, b, token, flag, toggles)
        idle = evaluate_latencies(b, flag, 3.0)
        burst: list[float] = []
        done = threading.Event()

        def burst_of_changes() -> None:
            enabled = True
            for _ in range(toggles * 2):
                toggle(a, token, flag, enabled)
                enabled = not enabled
                time.sleep(0.3)
            done.set()

        threading.Thread(target=burst_of_changes, daemon=True).start()
        while not done.is_set():
            burst += evaluate_latencies(b, flag, 0.5)
    figures |= {
        "toggle_median_s": statistics.median(delays),
        "toggle_max_s": max(delays),
        "idle_p50_ms": percentile(idle, 0.5) * 1000,
        "idle_p99_ms": percentile(idle, 0.99) * 1000,
        "burst_p50_ms": percentile(burst, 0.5) * 1000,
        "burst_p99_ms": percentile(burst, 0.99) * 1000,
        "burst_requests": float(len(burst)),
    }
    print(f"{label}: " + ", ".join(f"{k}={v:.3f}" for k, v in figures.items()), file=sys.stderr)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--flags", type=int, default=1000)
    parser.add_argument("--segments", type=int, default=20)
    parser.add_argument("--ids", type=int, default=10_000)
    parser.add_argument("--toggles", type=int, default=5)
    args = parser.parse_args()
    db = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/flagsite_scale")
    if not db.startswith("postgres"):
        sys.exit("bench/scale.py needs PostgreSQL: set DATABASE_URL=postgres://...")
    redis = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/9")
    database_recreate(db)
    # One load generator on one address: lift the per-key and per-IP limits (docs/benchmarks.md).
    unlimited = str(10**9)
    env = server_env(
        DATABASE_URL=db,
        REDIS_URL=redis,
        FLAGSITE_RATE_LIMIT_PER_MINUTE=unlimited,
        FLAGSITE_RATE_LIMIT_CLIENT_PER_IP=unlimited,
        FLAGSITE_RATE_LIMIT_CLIENT_PER_KEY=unlimited,
    )
    print("preparing the database (migrate, demo data)", file=sys.stderr)
    database_prepare(env)
    token = manage(env, "shell", "-c", TOKEN_SCRIPT).strip().splitlines()[-1]

    baseline = measure("baseline (demo data)", env, token, "llm-model", args.toggles)

    document = unleash_document(flags=args.flags, segments=args.segments, ids_per_segment=args.ids)
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(document, handle)
    started = time.perf_counter()
    manage(env, "import_unleash", handle.name, "--environment", "development")
    import_s = time.perf_counter() - started
    os.unlink(handle.name)
    print(f"import of {args.flags} flags: {import_s:.1f} s", file=sys.stderr)
    # A flag that is on for "zed" (no rule matches: the default) so a toggle flips the reason.
    scale = measure("scale", env, token, "scale-flag-0001", args.toggles)
    # The same at scale with B compiling on the request thread that notices a new version.
    on_request = measure(
        "scale, load on the request thread",
        env,
        token,
        "scale-flag-0001",
        args.toggles,
        FLAGSITE_RULESET_BACKGROUND_LOAD="false",
    )

    print(
        f"\nscale: {args.flags} flags, {args.segments} segments x {args.ids} ids "
        f"({scale['ruleset_bytes'] / 1e6:.1f} MB ruleset); baseline: the demo data "
        f"({baseline['ruleset_bytes'] / 1e3:.1f} kB)"
    )
    print(f"{'figure':<28}{'baseline':>12}{'scale':>12}{'ratio':>9}")
    print(f"{'import (end to end)':<28}{'':>12}{import_s:>11.1f}s{'':>9}")
    rows = [
        ("publish (build+compile)", "publish_s", 1000, "ms"),
        ("toggle -> served by B", "toggle_median_s", 1000, "ms"),
        ("toggle -> served, max", "toggle_max_s", 1000, "ms"),
        ("evaluate p50, idle", "idle_p50_ms", 1, "ms"),
        ("evaluate p99, idle", "idle_p99_ms", 1, "ms"),
        ("evaluate p50, burst", "burst_p50_ms", 1, "ms"),
        ("evaluate p99, burst", "burst_p99_ms", 1, "ms"),
    ]
    for name, key, scale_by, unit in rows:
        base, big = baseline[key] * scale_by, scale[key] * scale_by
        print(f"{name:<28}{base:>10.1f}{unit}{big:>10.1f}{unit}{big / base:>8.1f}x")
    print(
        f"{'evaluate p99 burst / idle':<28}"
        f"{baseline['burst_p99_ms'] / baseline['idle_p99_ms']:>11.1f}x"
        f"{scale['burst_p99_ms'] / scale['idle_p99_ms']:>11.1f}x"
    )
    print(
        "\nat scale, B loading new versions on the request thread (FLAGSITE_RULESET_BACKGROUND_LOAD"
        "=false) vs in the background:"
    )
    for name, key in (
        ("evaluate p50, burst", "burst_p50_ms"),
        ("evaluate p99, burst", "burst_p99_ms"),
    ):
        sync, bg = on_request[key], scale[key]
        print(f"{name:<28}{sync:>10.1f}ms{bg:>10.1f}ms{sync / bg:>8.1f}x")


if __name__ == "__main__":
    main()
