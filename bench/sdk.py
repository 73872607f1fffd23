"""SDK benchmark: flag evaluations per second through `Client.variation`, side by side with the
published Python SDKs of Flagsmith (flagsmith-flag-engine), GrowthBook (growthbook) and Unleash
(UnleashClient, bootstrapped, no network), each evaluating the same workload locally.

Run: .venv/bin/python bench/sdk.py   (docs/benchmarks.md, "SDK", records results)

Workload (bench/engine.py's builders): 20 boolean flags, each: rule 1 a 100-key internal segment
-> on, rule 2 tier == paid -> on, default a 25 % rollout; 10,000 contexts. Every SDK answers
"is flag-i on for this user?" once per (context, flag), in its idiomatic local-evaluation call.
"""

from __future__ import annotations

import argparse
import importlib.util
import logging
import platform
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flagsite_sdk.client import Client

_spec = importlib.util.spec_from_file_location(
    "bench_engine", Path(__file__).with_name("engine.py")
)
assert _spec is not None and _spec.loader is not None
bench_engine = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench_engine)

FLAGS: int = bench_engine.FLAGS
INTERNAL: list[str] = bench_engine.INTERNAL
best_rate: Callable[[str, int, Callable[[], None], int], float] = bench_engine.best_rate
progress: Callable[[str], None] = bench_engine.progress

Result = tuple[float, int]  # (evaluations per CPU second, users served flag-0 "on")


def run_flagsite(
    contexts: list[dict[str, Any]], repeat: int, *, events: bool, dedup_size: int = 50_000
) -> Result:
    """The production configuration: a client whose server is unreachable (so it polls and
    sends nothing during the run) with exposure recording on; or an offline client.

    With the default dedup memory (50,000 triples) and 200,000 distinct (user, flag, variant)
    triples per run, every exposure is new: the worst case. With a memory of 500,000 (its recent
    generation, half of it, holds the whole workload), every exposure after the first run is a
    repeat: the steady state of a service whose users come back."""
    ruleset = bench_engine.workload_ruleset()
    if events:
        client = Client(
            "http://127.0.0.1:9",
            "fs_srv_bench",
            bootstrap=ruleset,
            start_wait=0,
            poll_interval=3600,
            events_flush_interval=3600,
            exposure_dedup_size=dedup_size,
        )
    else:
        client = Client(offline=True, bootstrap=ruleset)
    keys = [f"flag-{i}" for i in range(FLAGS)]
    variation = client.variation

    def run() -> None:
        for context in contexts:
            for key in keys:
                variation(key, context, False)

    label = "flagsite Client.variation" + (
        f" (exposures on, dedup {dedup_size:,})" if events else " (offline)"
    )
    rate = best_rate(label, len(contexts) * FLAGS, run, repeat)
    on = sum(client.variation("flag-0", c, False) for c in contexts)
    if events:
        stats = client.stats
        progress(
            f"exposures queued {stats.events_queued:,}, deduplicated "
            f"{stats.exposures_deduplicated:,}, dropped (queue full) {stats.events_dropped:,}"
        )
        logging.disable(logging.WARNING)
        client.close(timeout=0)
        logging.disable(logging.NOTSET)
    return rate, on


def run_flagsmith(contexts: list[dict[str, Any]], repeat: int) -> Result | None:
    """flagsmith-flag-engine evaluates every flag of an identity in one call (its only API):
    counted as 20 evaluations per call."""
    try:
        from flag_engine.engine import get_evaluation_result
    except ImportError:
        print("flagsmith-flag-engine is not installed")
        return None
    prepared = bench_engine.flagsmith_contexts(contexts)

    def run() -> None:
        for context in prepared:
            get_evaluation_result(context)

    rate = best_rate("flagsmith get_evaluation_result", len(contexts) * FLAGS, run, repeat)
    on = sum(get_evaluation_result(c)["flags"]["flag-0"]["value"] is True for c in prepared)
    return rate, on


def growthbook_features() -> dict[str, Any]:
    return {
        f"flag-{i}": {
            "defaultValue": False,
            "rules": [
                {"condition": {"id": {"$in": INTERNAL}}, "force": True},
                {"condition": {"tier": "paid"}, "force": True},
                {"force": True, "coverage": 0.25, "hashAttribute": "id"},
            ],
        }
        for i in range(FLAGS)
    }


def run_growthbook(contexts: list[dict[str, Any]], repeat: int) -> Result | None:
    """One GrowthBook instance (its per-request object), attributes set per user."""
    try:
        from growthbook import GrowthBook
    except ImportError:
        print("growthbook is not installed")
        return None
    gb = GrowthBook(features=growthbook_features())
    attributes = [{"id": c["key"], "tier": c["tier"]} for c in contexts]
    keys = [f"flag-{i}" for i in range(FLAGS)]

    def run() -> None:
        for attrs in attributes:
            gb.set_attributes(attrs)
            for key in keys:
                gb.is_on(key)

    rate = best_rate("growthbook is_on", len(contexts) * FLAGS, run, repeat)
    on = 0
    for attrs in attributes:
        gb.set_attributes(attrs)
        on += gb.is_on("flag-0")
    gb.destroy()
    return rate, on


def unleash_features() -> dict[str, Any]:
    def feature(name: str) -> dict[str, Any]:
        return {
            "name": name,
            "enabled": True,
            "strategies": [
                {"name": "userWithId", "parameters": {"userIds": ",".join(INTERNAL)}},
                {
                    "name": "default",
                    "parameters": {},
                    "constraints": [{"contextName": "tier", "operator": "IN", "values": ["paid"]}],
                },
                {
                    "name": "flexibleRollout",
                    "parameters": {"rollout": "25", "stickiness": "userId", "groupId": name},
                },
            ],
        }

    return {"version": 1, "features": [feature(f"flag-{i}") for i in range(FLAGS)]}


def run_unleash(contexts: list[dict[str, Any]], repeat: int) -> Result | None:
    """UnleashClient bootstrapped from a dict: no fetching, no metrics, no registration."""
    try:
        # unused-ignore: without the optional bench extras UnleashClient is not installed
        from UnleashClient import UnleashClient  # type: ignore[attr-defined, unused-ignore]
        from UnleashClient.cache import FileCache
    except ImportError:
        print("UnleashClient is not installed")
        return None
    with tempfile.TemporaryDirectory() as cache_dir:
        cache = FileCache("flagsite-bench", directory=cache_dir)
        cache.bootstrap_from_dict(unleash_features())
        client = UnleashClient(
            url="http://127.0.0.1:9",
            app_name="flagsite-bench",
            cache=cache,
            disable_metrics=True,
            disable_registration=True,
            refresh_interval=3600,
        )
        client.initialize_client(fetch_toggles=False)
        prepared = [{"userId": c["key"], "properties": {"tier": c["tier"]}} for c in contexts]
        keys = [f"flag-{i}" for i in range(FLAGS)]
        is_enabled = client.is_enabled

        def run() -> None:
            for context in prepared:
                for key in keys:
                    is_enabled(key, context)

        rate = best_rate("unleash is_enabled", len(contexts) * FLAGS, run, repeat)
        on = sum(client.is_enabled("flag-0", c) for c in prepared)
        client.destroy()
    return rate, on


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=5, help="runs per measurement (best kept)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    contexts = bench_engine.workload_contexts()
    print(
        f"Python {platform.python_version()}, {platform.machine()}; workload: {FLAGS} flags x "
        f"{len(contexts):,} contexts = {FLAGS * len(contexts):,} evaluations per run, best of "
        f"{args.repeat}; rates are evaluations per CPU second"
    )
    rows: list[tuple[str, Result | None]] = [
        (
            "flagsite variation, every exposure new",
            run_flagsite(contexts, args.repeat, events=True),
        ),
        (
            "flagsite variation, repeat exposures",
            run_flagsite(contexts, args.repeat, events=True, dedup_size=500_000),
        ),
        (
            "flagsite variation, offline (no events)",
            run_flagsite(contexts, args.repeat, events=False),
        ),
    ]
    slow = max(1, args.repeat // 2)
    rows += [
        ("flagsmith-flag-engine", run_flagsmith(contexts, slow)),
        ("growthbook", run_growthbook(contexts, slow)),
        ("UnleashClient (yggdrasil)", run_unleash(contexts, slow)),
    ]
    print(f"{'SDK':<44}{'evaluations/s':>16}{'flag-0 on':>12}")
    for name, result in rows:
        if result is not None:
            print(f"{name:<44}{result[0]:>16,.0f}{result[1]:>12,}")
    ours = rows[0][1]
    others = [r for _, r in rows[3:] if r is not None]
    if ours is not None and others:
        fastest = max(r[0] for r in others)
        print(
            f"flagsite (every exposure new) / fastest other SDK: {ours[0] / fastest:.1f}x "
            "(goal >= 2x)"
        )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
