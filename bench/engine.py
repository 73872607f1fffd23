"""Engine benchmark: evaluations per second against flagsmith-flag-engine, and the compile cost of
a large ruleset. Run: .venv/bin/python bench/engine.py   (docs/benchmarks.md records results)

Workload (the same for both engines): 20 flags, each with
  rule 1: the context is in a 100-key "internal" segment -> on,
  rule 2: tier == paid -> on,
  default: a 25 / 75 split of on / off,
evaluated for 10,000 contexts (10 % internal keys, 30 % paid, the rest free).

Then the hostile cases (issue 9), each the worst of several runs: regex patterns that take a
backtracking engine exponential time, against 10 kB attributes, with RE2 and with the SDK's
no-RE2 fallback; and segments nested as deep as the validator allows (and as deep as the issue's
20 levels), two per level, each using both segments of the next level.
"""

from __future__ import annotations

import argparse
import functools
import gc
import json
import platform
import random
import sys
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

from flagsite_sdk.engine import (
    codegen,
    compile_ruleset,
    evaluate,
    evaluate_all,
    regex,
    validate_ruleset,
)
from flagsite_sdk.engine.bucketing import USING_MMH3
from flagsite_sdk.engine.limits import MAX_SEGMENT_DEPTH

FLAGS = 20
CONTEXTS = 10_000
INTERNAL = [f"staff-{i}" for i in range(100)]


def progress(message: str) -> None:
    print(f"  .. {message}", file=sys.stderr, flush=True)


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


# The same set as tests/engine/test_regex.py's HOSTILE: classic catastrophic-backtracking
# patterns, each with a 10 kB input that makes a backtracking engine try every split.
HOSTILE = [
    ("^(a+)+$", "a" * 10_000 + "!"),
    ("^(a|aa)+$", "a" * 10_000 + "!"),
    ("^(a|a?)+$", "a" * 10_000 + "!"),
    ("(x+x+)+y", "x" * 10_000),
    ("^(\\w+\\s?)*$", "word " * 2_000 + "!"),
    (
        "^([a-zA-Z0-9])(([\\-.]|[_]+)?([a-zA-Z0-9]+))*(@){1}[a-z0-9]+[.]{1}"
        "(([a-z]{2,3})|([a-z]{2,3}[.]{1}[a-z]{2,3}))$",
        "a" * 10_000 + "!",
    ),
    ("^(.*a){12}$", "a" * 10_000 + "!"),
]


def _regex_flag(pattern: str) -> dict[str, Any]:
    return {
        "key": "rx",
        "kind": "boolean",
        "variants": [{"key": "on", "value": True}, {"key": "off", "value": False}],
        "enabled": True,
        "off_variant": "off",
        "rules": [
            {
                "id": "r1",
                "clauses": [{"attribute": "a", "op": "regex", "values": [pattern]}],
                "serve": {"variant": "on"},
            }
        ],
        "default": {"variant": "off"},
    }


def worst_seconds(run: Callable[[], Any], repeat: int) -> float:
    """The slowest of `repeat` calls, in CPU seconds of this process (as the rates above)."""
    worst = 0.0
    for _ in range(repeat):
        start = time.process_time()
        run()
        worst = max(worst, time.process_time() - start)
    return worst


def bench_hostile_regex(repeat: int, *, use_re2: bool) -> tuple[float, str]:
    """The worst single evaluation over the hostile patterns (seconds, and which pattern)."""
    saved = regex.USING_RE2
    regex.USING_RE2 = use_re2 and saved
    try:
        worst, which = 0.0, ""
        for pattern, text in HOSTILE:
            ruleset = compile_ruleset({"flags": {"rx": _regex_flag(pattern)}})
            assert not ruleset.errors, ruleset.errors
            context = {"key": "k", "a": text}
            assert evaluate(ruleset, "rx", context).variant == "off"
            seconds = worst_seconds(functools.partial(evaluate, ruleset, "rx", context), repeat)
            if seconds > worst:
                worst, which = seconds, pattern
        return worst, which
    finally:
        regex.USING_RE2 = saved


def nesting_ruleset(levels: int) -> dict[str, Any]:
    """2 segments per level, each using both of the next level; the last level never matches
    (so every path is tried); 20 flags use the top level."""
    segments = {}
    for level in range(levels):
        for side in "ab":
            key = f"n{level}{side}"
            op = "in" if level == levels - 1 else "not_in"
            clauses: list[dict[str, Any]] = [{"attribute": f"a{level}", "op": op, "values": ["x"]}]
            if level + 1 < levels:
                clauses.append({"op": "segment", "values": [f"n{level + 1}a", f"n{level + 1}b"]})
            segments[key] = {"key": key, "clauses": clauses, "bucket_by": "key"}
    flags = workload_ruleset()["flags"]
    for flag in flags.values():
        flag["rules"][0]["clauses"] = [{"op": "segment", "values": ["n0a", "n0b"]}]
    return {"schema": 1, "flags": flags, "segments": segments}


def bench_nesting(levels: int, repeat: int) -> tuple[float, float]:
    """(worst evaluate_all of 20 flags, seconds; validate_ruleset, seconds)."""
    data = nesting_ruleset(levels)
    ruleset = compile_ruleset(data)
    assert not ruleset.errors, ruleset.errors
    context = {"key": "user-1", "tier": "free"}
    worst = worst_seconds(lambda: evaluate_all(ruleset, context), repeat)
    validate = worst_seconds(lambda: validate_ruleset(data), 1)
    return worst, validate


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
    progress("hostile regexes, RE2")
    worst, which = bench_hostile_regex(args.repeat * 4, use_re2=True)
    print(
        f"  regex, RE2, {len(HOSTILE)} patterns x 10 kB:      worst {worst * 1e3:8.3f} ms "
        f"({worst * 1e6 / normal_us:,.0f}x a normal evaluation; {which!r})"
    )
    if regex.USING_RE2:
        progress("hostile regexes, no-RE2 fallback")
        worst, which = bench_hostile_regex(2, use_re2=False)
        print(f"  regex, fallback without RE2, same set:   worst {worst * 1e3:8.3f} ms ({which!r})")
    for levels in (MAX_SEGMENT_DEPTH, 20):
        progress(f"segment nesting, {levels} levels")
        worst, validate = bench_nesting(levels, args.repeat * 4)
        print(
            f"  segments nested {levels:2d} levels x 2 (20 flags): evaluate_all worst "
            f"{worst * 1e3:6.3f} ms ({worst * 1e6 / 20 / normal_us:,.0f}x a normal evaluation "
            f"per flag); validate_ruleset {validate * 1e3:.1f} ms"
        )


if __name__ == "__main__":
    main()
