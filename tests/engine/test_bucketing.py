"""Bucketing: the published vectors, murmur3 itself, and the statistical properties we promise."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path
from types import FunctionType
from typing import Any

import mmh3
import pytest
from flagsite_sdk.engine import bucket, codegen, evaluate, segments, unleash_normalized
from flagsite_sdk.engine.bucketing import bucket_string
from flagsite_sdk.engine.murmur import hash32 as pure_hash32
from flagsite_sdk.engine.murmur import murmur3_x86_32
from hypothesis import given
from hypothesis import strategies as st
from scipy.stats import chi2_contingency, pearsonr

from .builders import boolean_flag, rule, ruleset, segment

VECTORS_PATH = Path(__file__).parents[2] / "sdk" / "tests" / "vectors" / "bucketing.json"
VECTORS = json.loads(VECTORS_PATH.read_text(encoding="utf-8"))


@pytest.mark.parametrize("row", VECTORS["cases"], ids=lambda r: f"{r['salt']}|{r['value']}")
def test_published_vector(row: dict[str, Any]) -> None:
    assert row["salt"] + "." + bucket_string(row["value"]) == row["input"]
    assert mmh3.hash(row["input"], 0, False) == row["murmur3"]
    assert murmur3_x86_32(row["input"].encode()) == row["murmur3"]
    assert bucket(row["salt"], row["value"]) == row["bucket"] == row["murmur3"] % 100_000


@pytest.mark.parametrize("row", VECTORS["unleash"], ids=lambda r: r["input"])
def test_published_unleash_vector(row: dict[str, Any]) -> None:
    assert (
        unleash_normalized(row["group_id"], row["value"], row["seed"], row["total"])
        == (row["normalized"])
    )
    assert (
        murmur3_x86_32(row["input"].encode(), row["seed"]) % row["total"] + 1 == row["normalized"]
    )


def test_the_vectors_cover_unicode_ints_and_json() -> None:
    values = [row["value"] for row in VECTORS["cases"]]
    assert len(values) >= 30
    assert any(isinstance(v, str) and not v.isascii() for v in values)
    assert any(isinstance(v, int) and not isinstance(v, bool) for v in values)
    assert any(isinstance(v, bool | list | dict | float) for v in values)


@pytest.mark.parametrize(
    ("data", "seed", "expected"),
    [  # Reference values for MurmurHash3_x86_32 published with the algorithm's test suites.
        (b"", 0, 0),
        (b"", 1, 0x514E28B7),
        (b"", 0xFFFFFFFF, 0x81F16F39),
        (b"\0\0\0\0", 0, 0x2362F9DE),
        (b"a", 0x9747B28C, 0x7FA09EA6),
        (b"aaaa", 0x9747B28C, 0x5A97808A),
        (b"Hello, world!", 0x9747B28C, 0x24884CBA),
        (b"The quick brown fox jumps over the lazy dog", 0x9747B28C, 0x2FA826CD),
    ],
)
def test_murmur3_reference_values(data: bytes, seed: int, expected: int) -> None:
    assert murmur3_x86_32(data, seed) == expected
    assert mmh3.hash(data, seed, False) == expected


@given(text=st.text(max_size=40), seed=st.integers(0, 2**32 - 1), signed=st.booleans())
def test_the_pure_python_fallback_agrees_with_mmh3(text: str, seed: int, signed: bool) -> None:
    assert pure_hash32(text, seed, signed) == mmh3.hash(text, seed, signed)


def test_the_engine_falls_back_to_pure_python_without_mmh3() -> None:
    # A fresh interpreter in which `import mmh3` fails evaluates the vectors all the same.
    script = (
        "import sys, json; sys.modules['mmh3'] = None\n"
        "from flagsite_sdk.engine import bucketing\n"
        "assert not bucketing.USING_MMH3\n"
        f"rows = json.load(open({str(VECTORS_PATH)!r}, encoding='utf-8'))['cases']\n"
        "bad = [r for r in rows if bucketing.bucket(r['salt'], r['value']) != r['bucket']]\n"
        "print(len(rows), len(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert out.stdout.split() == [str(len(VECTORS["cases"])), "0"]


SPLIT_FLAG = boolean_flag(
    "split",
    variants=[{"key": k, "value": k} for k in ("a", "b", "c", "d")],
    kind="string",
    off_variant="a",
    rules=[rule("r1", {"op": "segment", "values": ["pct"]}, serve={"variant": "d"})],
    default={
        "split": [
            {"variant": k, "weight": w} for k, w in (("a", 10), ("b", 20), ("c", 30.5), ("d", 39.5))
        ]
    },
)


def test_compiled_flags_bucket_the_same_with_the_fallback(monkeypatch: pytest.MonkeyPatch) -> None:
    segs = (segment("pct", percentage=7),)
    contexts = [{"key": f"user-{i}"} for i in range(3000)] + [{"key": i} for i in range(200)]
    with_mmh3 = ruleset(SPLIT_FLAG, segments=segs)
    monkeypatch.setattr(codegen, "hash32", pure_hash32)
    monkeypatch.setattr(segments, "hash32", pure_hash32)
    pure = ruleset(SPLIT_FLAG, segments=segs)
    split = pure.functions["split"]
    assert isinstance(split, FunctionType) and split.__globals__["_h"] is pure_hash32
    assert [evaluate(with_mmh3, "split", c) for c in contexts] == [
        evaluate(pure, "split", c) for c in contexts
    ]


def test_a_lone_surrogate_is_bucketed_as_u_fffd_without_crashing() -> None:
    assert bucket("salt", "\ud800") == bucket("salt", "\ufffd")
    assert bucket("salt", "\ud83d\ude0a") == bucket("salt", "😊")  # a pair is its character
    rs = ruleset(SPLIT_FLAG, segments=(segment("pct", percentage=50),))
    assert evaluate(rs, "split", {"key": "\udc00"}).error_code is None


def test_the_same_context_always_gets_the_same_variant() -> None:
    first = ruleset(SPLIT_FLAG, segments=(segment("pct", percentage=7),))
    again = ruleset(SPLIT_FLAG, segments=(segment("pct", percentage=7),))
    for i in range(500):
        context = {"key": f"user-{i}", "tier": "free"}
        results = {evaluate(first, "split", context), evaluate(again, "split", context)}
        results.add(evaluate(first, "split", dict(context)))
        assert len(results) == 1


def _admitted(percentage: float, keys: list[str]) -> set[str]:
    rs = ruleset(boolean_flag(rules=[rule("r1", rollout={"percentage": percentage})]))
    return {k for k in keys if evaluate(rs, "f", {"key": k}).variant == "on"}


def test_raising_a_rollout_keeps_everyone_who_was_in() -> None:
    keys = [f"user-{i}" for i in range(20_000)]
    five, twenty_five = _admitted(5, keys), _admitted(25, keys)
    assert five < twenty_five
    assert abs(len(five) / len(keys) - 0.05) < 0.01
    assert abs(len(twenty_five) / len(keys) - 0.25) < 0.01
    assert _admitted(0, keys[:2000]) == set()
    assert _admitted(100, keys[:2000]) == set(keys[:2000])


def test_splits_land_within_half_a_point_of_their_weights() -> None:
    rng = random.Random(20240601)
    rs = ruleset(SPLIT_FLAG, segments=(segment("pct", percentage=0),))
    counts = dict.fromkeys("abcd", 0)
    n = 100_000
    for _ in range(n):
        variant = evaluate(rs, "split", {"key": f"{rng.getrandbits(64):x}"}).variant
        assert variant is not None
        counts[variant] += 1
    for variant, weight in (("a", 10), ("b", 20), ("c", 30.5), ("d", 39.5)):
        assert abs(100 * counts[variant] / n - weight) < 0.5, counts


def test_two_flags_bucket_independently() -> None:
    # Chi-square test of independence on the deciles of two flags' buckets for the same users.
    rng = random.Random(7)
    keys = [f"user-{rng.getrandbits(48)}" for _ in range(50_000)]
    table = [[0] * 10 for _ in range(10)]
    first, second = [], []
    for key in keys:
        a, b = bucket("checkout-v2", key), bucket("llm-model", key)
        table[a // 10_000][b // 10_000] += 1
        first.append(a)
        second.append(b)
    assert chi2_contingency(table).pvalue > 0.001
    assert abs(pearsonr(first, second).statistic) < 0.02


def test_a_rule_rollout_is_independent_of_the_split() -> None:
    # Same flag, same users: the rollout salt ("<salt>:rollout:<rule id>") decorrelates them.
    rng = random.Random(11)
    keys = [f"{rng.getrandbits(48):x}" for _ in range(20_000)]
    rollout = [bucket("f:rollout:r1", k) for k in keys]
    split = [bucket("f", k) for k in keys]
    assert abs(pearsonr(rollout, split).statistic) < 0.03
