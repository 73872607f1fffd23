"""API benchmark: flagsite's hot endpoints against a bare Django project, same server, same load.

    .venv/bin/python bench/api.py [--server gthread|sync|granian] [--rounds 5] [--seconds 4]
                                  [--connections 8] [--limits counted|off] [--no-pin]
    .venv/bin/python bench/api.py --soak [--soak-requests 100000]   # memory at scale + soak

Two servers run side by side with the same settings (default gunicorn gthread, 2 workers x 4
threads): flagsite on PostgreSQL + Redis (DATABASE_URL / REDIS_URL; the database is dropped,
recreated, migrated and loaded with the demo data plus flags up to 20), and bench/bare, a Django
project with no apps and no middleware whose one view returns a fixed 48-byte JSON body. wrk
(Debian's `wrk`) drives them over keep-alive connections from a Lua script that cycles through
10,000 different users' bodies. Every round runs every scenario once (interleaved, so drift of a
shared machine spreads over all of them); each round's ratio is taken against the bare view of
the same round. Pinning (default on a machine with 2+ cores): servers on the first core, wrk on
the last; Redis and PostgreSQL are not pinned.

`--server granian` needs granian (`.venv/bin/pip install granian`; not a dependency of the
project: it lost to gthread, docs/benchmarks.md). Give the benchmark a Redis database of its own:
it clears the cache and counts ~10^5 requests per key there.

Rate limits: `--limits counted` (default) raises the limits to 10^9 per minute through settings,
so every request is still counted, as in production (slices reserved from Redis, one round trip
per 100 requests: delivery/slices.py) but none is refused; `--limits off` sets them to 0 (off),
which shows what the count costs.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
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
from bench.load import CLIENT_KEY, SERVER_KEY, TIERS, USERS

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

# wrk's Lua side: 10,000 users' bodies built once per connection thread, one per request in
# turn (bench/load.py builds the same ones for bench/profile_request.py). done() prints JSON.
LUA = """
local bodies = {}
local tiers = {%(tiers)s}
local method, path, with_body = "%(method)s", "%(path)s", %(with_body)s
wrk.method = method
wrk.headers = {%(headers)s}
for i = 0, %(users)d - 1 do
  bodies[i + 1] = string.format(
    '{"context":{"targetingKey":"user-%%d","tier":"%%s","email":"user-%%d@example.com"}}',
    i, tiers[(i %% #tiers) + 1], i)
end
local n = 0
request = function()
  n = n + 1
  if with_body then
    return wrk.format(method, path, nil, bodies[(n %% #bodies) + 1])
  end
  return wrk.format(method, path)
end
done = function(summary, latency, requests)
  io.write(string.format(
    '{"requests":%%d,"duration_us":%%d,"p50_us":%%d,"p99_us":%%d,"max_us":%%d,' ..
    '"errors":%%d,"bad_status":%%d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    latency.max, summary.errors.connect + summary.errors.read + summary.errors.write +
    summary.errors.timeout, summary.errors.status))
end
"""


@dataclass(frozen=True)
class Scenario:
    name: str
    method: str
    path: str
    headers: dict[str, str]
    expect: int
    bare: bool = False

    @property
    def with_body(self) -> bool:
        return self.method == "POST"


def scenarios(etag: str) -> list[Scenario]:
    json_type = {"Content-Type": "application/json"}
    return [
        Scenario("bare Django view", "GET", "/", {}, 200, bare=True),
        Scenario(
            "evaluate (20 flags)",
            "POST",
            "/api/v1/evaluate",
            {**json_type, "Authorization": f"Bearer {CLIENT_KEY}"},
            200,
        ),
        Scenario(
            "ruleset poll 304",
            "GET",
            "/api/v1/sdk/ruleset",
            {"Authorization": f"Bearer {SERVER_KEY}", "If-None-Match": etag},
            304,
        ),
        Scenario(
            "OFREP bulk",
            "POST",
            "/ofrep/v1/evaluate/flags",
            {**json_type, "X-API-Key": CLIENT_KEY},
            200,
        ),
        Scenario(
            "OFREP single",
            "POST",
            "/ofrep/v1/evaluate/flags/bench-flag-1",
            {**json_type, "X-API-Key": CLIENT_KEY},
            200,
        ),
    ]


def lua_script(scenario: Scenario, directory: Path) -> Path:
    headers = ", ".join(f'["{k}"] = {json.dumps(v)}' for k, v in scenario.headers.items())
    text = LUA % {
        "tiers": ", ".join(f'"{t}"' for t in TIERS),
        "method": scenario.method,
        "path": scenario.path,
        "with_body": "true" if scenario.with_body else "false",
        "headers": headers,
        "users": USERS,
    }
    path = directory / (scenario.name.replace(" ", "_").replace("(", "").replace(")", "") + ".lua")
    path.write_text(text)
    return path


def wrk(url: str, script: Path, *, seconds: float, connections: int, cpus: str | None) -> Any:
    command = [
        "wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--timeout", "10s",
        "-s", str(script), url,
    ]  # fmt: skip
    if cpus is not None:
        command = ["taskset", "-c", cpus, *command]
    out = subprocess.run(command, capture_output=True, text=True, check=True, timeout=seconds + 60)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["rps"] = result["requests"] / (result["duration_us"] / 1e6)
    return result


def check(server: Server, scenario: Scenario) -> None:
    """One request by hand before the load: the scenario answers what it should."""
    conn = http.client.HTTPConnection(server.url.removeprefix("http://"), timeout=30)
    body = b'{"context":{"targetingKey":"user-1","tier":"paid"}}' if scenario.with_body else None
    conn.request(scenario.method, scenario.path, body=body, headers=scenario.headers)
    response = conn.getresponse()
    response.read()
    if response.status != scenario.expect:
        raise SystemExit(f"{scenario.name}: answered {response.status}, not {scenario.expect}")


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def pins(enabled: bool) -> tuple[str | None, str | None]:
    cores = os.cpu_count() or 1
    if not enabled or cores < 2 or shutil.which("taskset") is None:
        return None, None
    return "0" if cores == 2 else f"0-{cores - 2}", str(cores - 1)


def flagsite_env(limits: str, **extra: str) -> dict[str, str]:
    db = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/flagsite_bench")
    redis = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/9")
    limit = str(10**9) if limits == "counted" else "0"
    return server_env(
        DATABASE_URL=db,
        REDIS_URL=redis,
        DJANGO_SETTINGS_MODULE="flagsite.settings",
        FLAGSITE_RATE_LIMIT_PER_MINUTE=limit,
        FLAGSITE_RATE_LIMIT_CLIENT_PER_IP=limit,
        FLAGSITE_RATE_LIMIT_CLIENT_PER_KEY=limit,
        FLAGSITE_RATE_LIMIT_UNAUTHENTICATED_PER_IP=limit,
        LOG_LEVEL="WARNING",
        **extra,
    )


def ruleset_etag(server: Server) -> str:
    conn = http.client.HTTPConnection(server.url.removeprefix("http://"))
    conn.request("GET", "/api/v1/sdk/ruleset", headers={"Authorization": f"Bearer {SERVER_KEY}"})
    response = conn.getresponse()
    response.read()
    return response.getheader("ETag") or ""


def summarise(runs: dict[str, list[Any]], bare_name: str) -> None:
    print(
        f"\n{'scenario':<22} {'req/s (median)':>14} {'vs bare: median':>16} {'range':>12}  "
        f"{'p99 ms':>7} {'p99 / bare p99':>15}  errors"
    )
    bare = runs[bare_name]
    for name, results in runs.items():
        ratios = [r["rps"] / b["rps"] for r, b in zip(results, bare, strict=True)]
        p99_ratios = [r["p99_us"] / b["p99_us"] for r, b in zip(results, bare, strict=True)]
        rps = statistics.median(r["rps"] for r in results)
        p99 = statistics.median(r["p99_us"] for r in results) / 1000
        errors = sum(r["errors"] + r["bad_status"] for r in results)
        print(
            f"{name:<22} {rps:>14.0f} {statistics.median(ratios):>16.2f} "
            f"{min(ratios):>5.2f}-{max(ratios):<5.2f}  {p99:>7.1f} "
            f"{statistics.median(p99_ratios):>6.2f} ({min(p99_ratios):.1f}-"
            f"{max(p99_ratios):.1f})  {errors}",
            flush=True,
        )


def prepare(env: dict[str, str]) -> None:
    print(f"database {env['DATABASE_URL']}: recreating, migrating, demo data", flush=True)
    database_recreate(env["DATABASE_URL"])
    database_prepare(env)
    print(f"flags: {manage(env, 'shell', '-c', MORE_FLAGS).strip()}", flush=True)


def ratios(args: argparse.Namespace) -> None:
    server_cpus, load_cpus = pins(not args.no_pin)
    env = flagsite_env(args.limits)
    prepare(env)
    options: dict[str, Any] = {
        "workers": args.workers,
        "server": args.server,
        "threads": args.threads,
        "cpus": server_cpus,
    }
    bare_env = server_env(DJANGO_SETTINGS_MODULE="bench.bare.settings")
    with (
        server_start(env, **options) as site,
        server_start(
            bare_env, app="bench.bare.wsgi:application", ready_path="/", **options
        ) as bare,
        tempfile.TemporaryDirectory() as tmp,
    ):
        all_scenarios = scenarios(ruleset_etag(site))
        for scenario in all_scenarios:
            check(bare if scenario.bare else site, scenario)
        print(
            f"{args.server}, {args.workers} workers x {args.threads} threads, servers on cpu "
            f"{server_cpus}, wrk on cpu {load_cpus}, {args.connections} keep-alive connections, "
            f"{USERS} users, limits {args.limits}; {args.rounds} rounds x {len(all_scenarios)} "
            f"scenarios x {args.seconds:.0f}s; load average {load_average()}",
            flush=True,
        )
        scripts = {s.name: lua_script(s, Path(tmp)) for s in all_scenarios}
        for scenario in all_scenarios:  # warm-up: every worker has its ruleset and key cached
            url = bare.url if scenario.bare else site.url
            wrk(url, scripts[scenario.name], seconds=1, connections=args.connections, cpus=None)
        runs: dict[str, list[Any]] = {}
        for round_ in range(1, args.rounds + 1):
            for scenario in all_scenarios:
                url = bare.url if scenario.bare else site.url
                result = wrk(
                    url,
                    scripts[scenario.name],
                    seconds=args.seconds,
                    connections=args.connections,
                    cpus=load_cpus,
                )
                runs.setdefault(scenario.name, []).append(result)
                print(
                    f"  round {round_}/{args.rounds} {scenario.name:<22} {result['rps']:>7.0f} "
                    f"req/s  p99 {result['p99_us'] / 1000:6.1f} ms  errors "
                    f"{result['errors'] + result['bad_status']}  load {load_average()}",
                    flush=True,
                )
        summarise(runs, all_scenarios[0].name)
        print(f"load average at the end: {load_average()}")


# --- memory at scale and the soak ------------------------------------------------------------


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def worker_pids(master: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(master)], capture_output=True, text=True)
    return [int(p) for p in out.stdout.split()]


SCALE_EVALUATE = """
local bodies = {}
local flags = '%(flags)s'
wrk.method = "POST"
wrk.headers = {["Content-Type"] = "application/json", ["X-API-Key"] = "%(key)s"}
for i = 0, %(users)d - 1 do
  bodies[i + 1] = string.format('{"context":{"targetingKey":"user-%%d"},"flags":%%s}', i, flags)
end
local n = 0
request = function()
  n = n + 1
  return wrk.format(nil, "/api/v1/evaluate", nil, bodies[(n %% #bodies) + 1])
end
done = function(summary, latency, requests)
  io.write(string.format('{"requests":%%d,"duration_us":%%d,"p50_us":%%d,"p99_us":%%d,' ..
    '"max_us":0,"errors":%%d,"bad_status":%%d}\\n', summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99), summary.errors.connect +
    summary.errors.read + summary.errors.write + summary.errors.timeout, summary.errors.status))
end
"""


def soak(args: argparse.Namespace) -> None:
    """One gthread worker with 1,000 flags and 20 x 10,000-key segments loaded (the import of
    bench/scale.py): its RSS before and after loading, then every ~10 % of `--soak-requests`
    evaluate requests (20 listed flags, 10,000 users), stopping at `--soak-seconds`."""
    from bench.scale_data import unleash_document

    server_cpus, load_cpus = pins(not args.no_pin)
    env = flagsite_env(args.limits)
    prepare(env)
    with tempfile.NamedTemporaryFile("w", suffix=".json") as export:
        json.dump(unleash_document(flags=1000, segments=20, ids_per_segment=10_000), export)
        export.flush()
        print("importing 1,000 flags and 20 x 10,000-key segments ...", flush=True)
        started = time.monotonic()
        manage(env, "import_unleash", export.name, "--environment", "development")
        print(f"  imported in {time.monotonic() - started:.1f}s", flush=True)
    flags = json.loads(
        manage(
            env,
            "shell",
            "-c",
            "import json; from flags.models import Flag; "
            "print(json.dumps(list(Flag.objects.order_by('key').values_list('key', flat=True))))",
        )
        .strip()
        .splitlines()[-1]
    )
    print(f"flags: {len(flags)}", flush=True)
    options: dict[str, Any] = {
        "workers": 1,
        "server": "gthread",
        "threads": args.threads,
        "cpus": server_cpus,
    }
    with server_start(env, **options) as site, tempfile.TemporaryDirectory() as tmp:
        (worker,) = worker_pids(site.process.pid)
        before = rss_kib(worker)
        conn = http.client.HTTPConnection(site.url.removeprefix("http://"), timeout=120)
        conn.request(
            "GET", "/api/v1/sdk/ruleset", headers={"Authorization": f"Bearer {SERVER_KEY}"}
        )
        response = conn.getresponse()
        size = len(response.read())
        loaded = rss_kib(worker)
        print(
            f"worker {worker}: RSS {before / 1024:.1f} MiB after start, {loaded / 1024:.1f} MiB "
            f"with the {size / 1e6:.1f} MB ruleset loaded",
            flush=True,
        )
        script = Path(tmp) / "soak.lua"
        script.write_text(
            SCALE_EVALUATE % {"flags": json.dumps(flags[:20]), "key": CLIENT_KEY, "users": USERS}
        )
        done, samples = 0, [(0, loaded)]
        deadline = time.monotonic() + args.soak_seconds
        while done < args.soak_requests and time.monotonic() < deadline:
            result = wrk(site.url, script, seconds=3, connections=args.connections, cpus=load_cpus)
            if result["errors"] or result["bad_status"]:
                raise SystemExit(f"soak: errors {result}")
            done += result["requests"]
            samples.append((done, rss_kib(worker)))
            print(
                f"  {done:>7} requests  RSS {samples[-1][1] / 1024:7.1f} MiB  "
                f"{result['rps']:.0f} req/s  load {load_average()}",
                flush=True,
            )
        half = samples[len(samples) // 2]
        last = samples[-1]
        growth = (last[1] - half[1]) * 1024 / max(1, last[0] - half[0])
        print(
            f"\nRSS with the scale ruleset loaded: {loaded / 1024:.1f} MiB; after {done} "
            f"requests: {last[1] / 1024:.1f} MiB; growth over the second half: "
            f"{growth:.2f} bytes per request"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--server", choices=["gthread", "sync", "granian"], default="gthread")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=4.0, help="per scenario and round")
    parser.add_argument("--limits", choices=["counted", "off"], default="counted")
    parser.add_argument("--no-pin", action="store_true")
    parser.add_argument("--soak", action="store_true")
    parser.add_argument("--soak-requests", type=int, default=100_000)
    parser.add_argument("--soak-seconds", type=float, default=600.0, help="bound on the soak")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt-get install -y wrk")
    if args.soak:
        soak(args)
    else:
        ratios(args)


if __name__ == "__main__":
    main()
