"""Engine benchmark: evaluations per second against flagsmith-flag-engine, and the compile cost of
a large ruleset. Run: .venv/bin/python bench/engine.py   (docs/benchmarks.md records results)

Workload (the same for both engines): 20 flags, each with
  rule 1: the context is in a 100-key "internal" segment -> on,
  rule 2: tier == paid -> on,
  default: a 25 / 75 split of on / off,
evaluated for 10,000 contexts (10 % internal keys, 30 % paid, the rest free).

Then the hostile cases of bench/hostile.py (issue 9), against a normal evaluation's time.
"""

from __future__ import annotations

import argparse
import gc
import json
import platform
import random
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flagsite_sdk.engine import codegen, compile_ruleset, evaluate, evaluate_all
from flagsite_sdk.engine.bucketing import USING_MMH3

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.hostile import hostile_report, progress

FLAGS = 20
CONTEXTS = 10_000
INTERNAL = [f"staff-{i}" for i in range(100)]


def workload_contexts(n: int = CONTEXTS) -> list[dict[str, Any]]:
    rng = random.Random(42)
    contexts = []
    for i in range(n):
        roll = rng.random()
        if roll < 0.10:
            contexts.append({"key": rng.choice(INTERNAL), "tier": "free"})
        elif roll < 0.40:
            contexts.append({"key": f"user-{i}", "tier": "paid"})
        else:
            contexts.append({"key": f"user-{i}", "tier": "free"})
    return contexts


def workload_ruleset() -> dict[str, Any]:
    flags = {}
    for i in range(FLAGS):
        key = f"flag-{i}"
        flags[key] = {
            "key": key,
            "kind": "boolean",
            "variants": [{"key": "on", "value": True}, {"key": "off", "value": False}],
            "enabled": True,
            "off_variant": "off",
            "prerequisites": [],
            "rules": [
                {
                    "id": "internal",
                    "clauses": [{"op": "segment", "values": ["internal"]}],
                    "serve": {"variant": "on"},
                },
                {
                    "id": "paid",
                    "clauses": [{"attribute": "tier", "op": "eq", "values": ["paid"]}],
                    "serve": {"variant": "on"},
                },
            ],
            "default": {
                "split": [{"variant": "on", "weight": 25}, {"variant": "off", "weight": 75}]
            },
        }
    internal = {
        "key": "internal",
        "included": INTERNAL,
        "excluded": [],
        "clauses": [],
        "percentage": None,
        "bucket_by": "key",
    }
    return {"schema": 1, "flags": flags, "segments": {"internal": internal}}


def best_rate(label: str, evaluations: int, run: Callable[[], None], repeat: int) -> float:
    """Evaluations per CPU second (this process's CPU time: one core, and not inflated when
    other processes share the machine) of the fastest of `repeat` runs."""
    best = float("inf")
    for attempt in range(repeat):
        progress(f"{label}: run {attempt + 1}/{repeat}")
        gc.collect()
        start = time.process_time()
        run()
        best = min(best, time.process_time() - start)
    return evaluations / best


def bench_flagsite(
    contexts: list[dict[str, Any]], repeat: int
) -> tuple[float, float, dict[str, int]]:
    ruleset = compile_ruleset(workload_ruleset())
    keys = list(ruleset)

    def single() -> None:
        for context in contexts:
            for key in keys:
                evaluate(ruleset, key, context)

    def every() -> None:
        for context in contexts:
            evaluate_all(ruleset, context)

    n = len(contexts) * len(keys)
    single_rate = best_rate("flagsite evaluate()", n, single, repeat)
    all_rate = best_rate("flagsite evaluate_all()", n, every, repeat)
    served = {"on": 0, "off": 0}
    for context in contexts:
        served[str(evaluate(ruleset, "flag-0", context).variant)] += 1
    return single_rate, all_rate, served


def flagsmith_contexts(contexts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The workload in flagsmith-flag-engine's terms: two segments whose overrides serve `true`
    for every feature (Flagsmith's natural model: one segment, overrides for many features,
    which evaluates each segment once per context instead of once per flag), and 20 multivariate
    features serving `true` to 25 % and the control value `false` to the rest."""
    override = [
        {"key": f"o{i}", "name": f"flag-{i}", "enabled": True, "value": True, "priority": 0}
        for i in range(FLAGS)
    ]
    segments = {
        "internal": {
            "key": "internal",
            "name": "internal",
            "overrides": override,
            "rules": [
                {
                    "type": "ALL",
                    "conditions": [
                        {"property": "$.identity.identifier", "operator": "IN", "value": INTERNAL}
                    ],
                }
            ],
        },
        "paid": {
            "key": "paid",
            "name": "paid",
            "overrides": override,
            "rules": [
                {
                    "type": "ALL",
                    "conditions": [{"property": "tier", "operator": "EQUAL", "value": "paid"}],
                }
            ],
        },
    }
    features = {
        f"flag-{i}": {
            "key": f"f{i}",
            "name": f"flag-{i}",
            "enabled": True,
            "value": False,
            "variants": [{"key": "on", "value": True, "weight": 25, "priority": 0}],
        }
        for i in range(FLAGS)
    }
    environment = {"key": "bench", "name": "bench"}
    return [
        {
            "environment": environment,
            "segments": segments,
            "features": features,
            "identity": {
                "identifier": c["key"],
                "key": f"bench_{c['key']}",
                "traits": {"tier": c["tier"]},
            },
        }
        for c in contexts
    ]


def bench_flagsmith(
    contexts: list[dict[str, Any]], repeat: int
) -> tuple[float, dict[str, int]] | None:
    try:
        from flag_engine.engine import get_evaluation_result
    except ImportError:
        print("flagsmith-flag-engine is not installed (pip install flagsmith-flag-engine)")
        return None
    prepared = flagsmith_contexts(contexts)

    def every() -> None:
        for context in prepared:
            # unused-ignore: without the optional bench extras the engine is not installed
            get_evaluation_result(context)  # type: ignore[arg-type, unused-ignore]

    rate = best_rate("flagsmith get_evaluation_result()", len(contexts) * FLAGS, every, repeat)
    served = {"on": 0, "off": 0}
    for context in prepared:
        # unused-ignore: without the optional bench extras the engine is not installed
        value = get_evaluation_result(context)["flags"]["flag-0"]["value"]  # type: ignore[arg-type, unused-ignore]
        served["on" if value is True else "off"] += 1
    return rate, served


def large_ruleset(flags: int = 1000, segments: int = 20, keys: int = 10_000) -> dict[str, Any]:
    """1,000 flags of four rules each, over 20 segments of 10,000 keys."""
    segment_data = {
        f"seg-{s}": {
            "key": f"seg-{s}",
            "included": [f"s{s}-user-{k}" for k in range(keys)],
            "excluded": [f"s{s}-banned-{k}" for k in range(100)],
            "clauses": [],
            "percentage": None,
            "bucket_by": "key",
        }
        for s in range(segments)
    }
    flag_data = {}
    for i in range(flags):
        key = f"large-{i}"
        flag_data[key] = {
            "key": key,
            "kind": "string",
            "variants": [{"key": v, "value": v} for v in ("a", "b", "c")],
            "enabled": True,
            "off_variant": "a",
            "prerequisites": [],
            "rules": [
                {
                    "id": "seg",
                    "clauses": [{"op": "segment", "values": [f"seg-{i % segments}"]}],
                    "serve": {"variant": "b"},
                },
                {
                    "id": "plan",
                    "clauses": [
                        {"attribute": "plan", "op": "in", "values": ["pro", "team", "enterprise"]},
                        {
                            "attribute": "email",
                            "op": "ends_with",
                            "values": ["@acme.com"],
                            "case_insensitive": True,
                        },
                    ],
                    "serve": {"variant": "c"},
                },
                {
                    "id": "version",
                    "clauses": [
                        {"attribute": "app_version", "op": "semver_gte", "values": ["2.4.0"]}
                    ],
                    "rollout": {"percentage": 30},
                    "serve": {"variant": "b"},
                },
                {
                    "id": "beta",
                    "clauses": [{"attribute": "beta", "op": "eq", "values": [True]}],
                    "serve": {
                        "split": [{"variant": "b", "weight": 50}, {"variant": "c", "weight": 50}]
                    },
                },
            ],
            "default": {
                "split": [
                    {"variant": v, "weight": w}
                    for v, w in (("a", 33.333), ("b", 33.333), ("c", 33.334))
                ]
            },
        }
    return {"schema": 1, "flags": flag_data, "segments": segment_data}


def bench_compile() -> tuple[float, float, float, int]:
    """(seconds, peak MB, retained MB) of compiling the large ruleset, and its JSON size."""
    progress("building the large ruleset (1,000 flags, 20 segments x 10,000 keys)")
    text = json.dumps(large_ruleset())
    data = json.loads(text)  # what an SDK holds after fetching: parsing is not compiling
    best = float("inf")
    for attempt in range(3):
        progress(f"compiling it: run {attempt + 1}/3")
        codegen._CODE_CACHE.clear()  # measure a cold compile, as in a fresh process
        gc.collect()
        start = time.process_time()
        ruleset = compile_ruleset(data)
        best = min(best, time.process_time() - start)
        assert not ruleset.errors, ruleset.errors
        del ruleset
    progress("measuring memory (tracemalloc)")
    codegen._CODE_CACHE.clear()
    gc.collect()
    tracemalloc.start()
    ruleset = compile_ruleset(data)
    retained, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert evaluate(ruleset, "large-3", {"key": "s3-user-17"}).variant == "b"
    return best, peak / 2**20, retained / 2**20, len(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=5, help="runs per measurement (best kept)")
    args = parser.parse_args()
    print(
        f"Python {platform.python_version()} ({platform.python_implementation()}), "
        f"{platform.machine()}, mmh3 {'yes' if USING_MMH3 else 'NO (pure-Python murmur3)'}"
    )
    contexts = workload_contexts()
    print(
        f"workload: {FLAGS} flags x {len(contexts):,} contexts = {FLAGS * len(contexts):,} "
        "evaluations per run"
    )
    single, every, served = bench_flagsite(contexts, args.repeat)
    print("rates are evaluations per CPU second of this process (time.process_time)")
    print(f"flagsite evaluate():          {single:>12,.0f} evaluations/s")
    print(f"flagsite evaluate_all():      {every:>12,.0f} evaluations/s")
    print(f"  flag-0 served on/off: {served['on']}/{served['off']}")
    baseline = bench_flagsmith(contexts, max(1, args.repeat // 2))
    if baseline is not None:
        rate, fs_served = baseline
        print(f"flagsmith-flag-engine (all):  {rate:>12,.0f} evaluations/s")
        print(f"  flag-0 served on/off: {fs_served['on']}/{fs_served['off']}")
        print(f"ratio evaluate() / flagsmith:     {single / rate:6.1f}x")
        print(f"ratio evaluate_all() / flagsmith: {every / rate:6.1f}x")
    seconds, peak, retained, size = bench_compile()
    print(
        f"large ruleset ({size / 2**20:.1f} MB of JSON): compile {seconds:.3f} CPU s (goal < 1 s), "
        f"memory peak {peak:.1f} MB / retained {retained:.1f} MB (goal < 50 MB)"
    )
    normal_us = 1e6 / single
    print(
        f"hostile cases (the slowest of {args.repeat * 4} calls each, CPU time; "
        f"a normal evaluate() is {normal_us:.2f} µs):"
    )
    hostile_report(args.repeat * 4, normal_us, workload_ruleset()["flags"])


if __name__ == "__main__":
    main()
