"""Where one delivery request spends its time: the WSGI application called in-process (no
server, no socket), N requests of one scenario with varying users, under cProfile.

    .venv/bin/python bench/profile_request.py evaluate [--requests 5000] [--top 25]

Scenarios: bare (a fixed JSON view with no middleware, like bench/bare), evaluate, poll304,
ofrep-bulk, ofrep-single. Needs a prepared database (bench/api.py leaves one behind; or
DATABASE_URL of any database with the demo data) and REDIS_URL. The CPU microseconds per request
measured here (outside the profiler, best of 3) do not depend on the machine's load as much as
throughput does; the profile says which functions they go to.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.load import CLIENT_KEY, SERVER_KEY, context_body


def environ(method: str, path: str, body: bytes, headers: dict[str, str]) -> dict[str, Any]:
    env: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "SCRIPT_NAME": "",
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": "127.0.0.1",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        "wsgi.version": (1, 0),
    }
    if body:
        env["CONTENT_LENGTH"] = str(len(body))
        env["CONTENT_TYPE"] = "application/json"
    for name, value in headers.items():
        env["HTTP_" + name.upper().replace("-", "_")] = value
    return env


def requests(scenario: str, n: int, etag: str) -> Iterator[tuple[str, str, bytes, dict[str, str]]]:
    for i in range(n):
        body = context_body(i % 10_000)
        if scenario == "bare":
            yield "GET", "/", b"", {}
        elif scenario == "evaluate":
            yield "POST", "/api/v1/evaluate", body, {"Authorization": f"Bearer {CLIENT_KEY}"}
        elif scenario == "poll304":
            yield (
                "GET",
                "/api/v1/sdk/ruleset",
                b"",
                {"Authorization": f"Bearer {SERVER_KEY}", "If-None-Match": etag},
            )
        elif scenario == "ofrep-bulk":
            yield "POST", "/ofrep/v1/evaluate/flags", body, {"X-API-Key": CLIENT_KEY}
        elif scenario == "ofrep-single":
            yield "POST", "/ofrep/v1/evaluate/flags/bench-flag-1", body, {"X-API-Key": CLIENT_KEY}
        else:
            raise SystemExit(f"unknown scenario {scenario}")


def call(app: Any, env: dict[str, Any], headers: list[tuple[str, str]] | None = None) -> str:
    status: list[str] = []

    def start_response(s: str, h: list[tuple[str, str]], exc: Any = None) -> Any:
        status.append(s)
        if headers is not None:
            headers.extend(h)

    result = app(env, start_response)
    b"".join(result)
    if hasattr(result, "close"):
        result.close()
    return status[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenario")
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--sort", default="tottime")
    parser.add_argument("--limits", choices=["counted", "off"], default="counted")
    args = parser.parse_args()
    app: Any
    if args.scenario == "bare":
        os.environ["DJANGO_SETTINGS_MODULE"] = "bench.bare.settings"
        from bench.bare.wsgi import application as app
    else:
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "flagsite.settings")
        limit = str(10**9) if args.limits == "counted" else "0"  # as bench/api.py --limits
        os.environ["FLAGSITE_RATE_LIMIT_PER_MINUTE"] = limit
        os.environ["FLAGSITE_RATE_LIMIT_CLIENT_PER_IP"] = limit
        os.environ["FLAGSITE_RATE_LIMIT_CLIENT_PER_KEY"] = limit
        from flagsite.wsgi import application as app
    etag = ""
    if args.scenario == "poll304":
        headers: list[tuple[str, str]] = []
        env = environ("GET", "/api/v1/sdk/ruleset", b"", {"Authorization": f"Bearer {SERVER_KEY}"})
        call(app, env, headers)
        etag = dict(headers)["ETag"]
    envs = [environ(*r) for r in requests(args.scenario, args.requests, etag)]
    statuses = {call(app, envs[0])}  # warm: first load of the ruleset and the key
    best = float("inf")
    for _ in range(3):
        for e in envs:
            e["wsgi.input"].seek(0)
        started = time.process_time()
        for e in envs:
            statuses.add(call(app, e))
        best = min(best, time.process_time() - started)
    print(f"{args.scenario}: {best / len(envs) * 1e6:.1f} CPU us per request, statuses {statuses}")
    for e in envs:
        e["wsgi.input"].seek(0)
    profiler = cProfile.Profile()
    profiler.enable()
    for e in envs:
        call(app, e)
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats(args.sort).print_stats(args.top)
    print(out.getvalue())


if __name__ == "__main__":
    main()
