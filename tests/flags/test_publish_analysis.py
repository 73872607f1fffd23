"""Publish-time analyses of a ruleset (flags.publish._keyed_flags) run in linear time: each
segment and flag is looked at a bounded number of times, however deep the nesting."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from flags.publish import _keyed_flags


class CountingDict(dict[str, Any]):
    """A segment or flag definition that counts how often its fields are read."""

    reads = 0

    def get(self, key: str, default: Any = None) -> Any:
        CountingDict.reads += 1
        return super().get(key, default)

    def __getitem__(self, key: str) -> Any:
        CountingDict.reads += 1
        return super().__getitem__(key)


def _flag(key: str, *, rules: list[dict[str, Any]], prerequisites: Sequence[Any] = ()) -> Any:
    return CountingDict(
        key=key,
        rules=rules,
        prerequisites=list(prerequisites),
        default={"variant": "off"},
    )


def _ladder(levels: int) -> dict[str, Any]:
    """The issue's shape: 2 segments per level, each using both of the next level; only the
    innermost "b" buckets (a percentage by key), so a walk down tries every path."""
    segments = {}
    for level in range(levels):
        for side in "ab":
            key = f"s{level}{side}"
            clauses = []
            if level + 1 < levels:
                clauses.append({"op": "segment", "values": [f"s{level + 1}a", f"s{level + 1}b"]})
            percentage = 10 if (level, side) == (levels - 1, "b") else None
            segments[key] = CountingDict(
                key=key, clauses=clauses, percentage=percentage, bucket_by="key"
            )
    return segments


def test_keyed_flags_reads_each_definition_a_bounded_number_of_times() -> None:
    segments = _ladder(20)
    uses_top = [{"id": "r1", "clauses": [{"op": "segment", "values": ["s0a", "s0b"]}]}]
    flags = {
        "top": _flag("top", rules=uses_top),
        "plain": _flag("plain", rules=[{"id": "r1", "clauses": []}]),
        "needs-top": _flag("needs-top", rules=[], prerequisites=[{"flag": "top"}]),
    }
    # A long prerequisite chain: chain-0 requires chain-1 ... requires top.
    for i in range(200):
        required = "top" if i == 199 else f"chain-{i + 1}"
        flags[f"chain-{i}"] = _flag(f"chain-{i}", rules=[], prerequisites=[{"flag": required}])
    CountingDict.reads = 0

    keyed = _keyed_flags({"segments": segments, "flags": flags})

    assert keyed == {"top", "needs-top", *(f"chain-{i}" for i in range(200))}
    # Before: ~2^20 segment reads for the ladder and ~200^2 flag passes for the chain.
    assert CountingDict.reads <= 10 * (len(segments) + len(flags))


def test_keyed_flags_finds_splits_rollouts_and_default_bucketing() -> None:
    data = {
        "segments": {"pct": {"key": "pct", "clauses": [], "percentage": 5, "bucket_by": None}},
        "flags": {
            "split": {"rules": [], "default": {"split": [], "bucket_by": "key"}},
            "split-by-other": {"rules": [], "default": {"split": [], "bucket_by": "org"}},
            "rollout": {"rules": [{"rollout": {"percentage": 5}}], "default": {}},
            "segment": {
                "rules": [{"clauses": [{"op": "segment", "values": ["pct"]}]}],
                "default": {},
            },
            "static": {"rules": [], "default": {"variant": "on"}},
        },
    }
    assert _keyed_flags(data) == {"split", "rollout", "segment"}
