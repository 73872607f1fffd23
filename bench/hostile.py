"""Hostile engine cases (issue 9), each the worst of several runs: regex patterns that take a
backtracking engine exponential time, against 10 kB attributes, with RE2 and with the SDK's
no-RE2 fallback; and segments nested as deep as the validator allows (and as deep as the issue's
20 levels), two per level, each using both segments of the next level.

bench/engine.py runs them after its rates, to compare with a normal evaluation.
"""

from __future__ import annotations

import copy
import functools
import sys
import time
from collections.abc import Callable
from typing import Any

from flagsite_sdk.engine import compile_ruleset, evaluate, evaluate_all, regex, validate_ruleset
from flagsite_sdk.engine.limits import MAX_SEGMENT_DEPTH


def progress(message: str) -> None:
    print(f"  .. {message}", file=sys.stderr, flush=True)


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


def nesting_ruleset(levels: int, workload_flags: dict[str, Any]) -> dict[str, Any]:
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
    flags = copy.deepcopy(workload_flags)
    for flag in flags.values():
        flag["rules"][0]["clauses"] = [{"op": "segment", "values": ["n0a", "n0b"]}]
    return {"schema": 1, "flags": flags, "segments": segments}


def bench_nesting(levels: int, repeat: int, workload_flags: dict[str, Any]) -> tuple[float, float]:
    """(worst evaluate_all of 20 flags, seconds; validate_ruleset, seconds)."""
    data = nesting_ruleset(levels, workload_flags)
    ruleset = compile_ruleset(data)
    assert not ruleset.errors, ruleset.errors
    context = {"key": "user-1", "tier": "free"}
    worst = worst_seconds(lambda: evaluate_all(ruleset, context), repeat)
    validate = worst_seconds(lambda: validate_ruleset(data), 1)
    return worst, validate


def hostile_report(repeat: int, normal_us: float, workload_flags: dict[str, Any]) -> None:
    """Print the hostile cases, each the slowest of `repeat` calls, against `normal_us` (one
    normal evaluate(), microseconds); nesting uses `workload_flags` (bench/engine.py's 20)."""
    print(
        f"hostile cases (the slowest of {repeat} calls each, CPU time; "
        f"a normal evaluate() is {normal_us:.2f} µs):"
    )
    progress("hostile regexes, RE2")
    worst, which = bench_hostile_regex(repeat, use_re2=True)
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
        worst, validate = bench_nesting(levels, repeat, workload_flags)
        print(
            f"  segments nested {levels:2d} levels x 2 (20 flags): evaluate_all worst "
            f"{worst * 1e3:6.3f} ms ({worst * 1e6 / 20 / normal_us:,.0f}x a normal evaluation "
            f"per flag); validate_ruleset {validate * 1e3:.1f} ms"
        )
