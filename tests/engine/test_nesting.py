"""Segment nesting and prerequisite graphs: each segment and each prerequisite is evaluated at
most once per evaluation, and the validators bound the depth and size of what is saved
(docs/ruleset.md, "Limits")."""

from __future__ import annotations

from typing import Any

from flagsite_sdk.engine import evaluate, evaluate_all, validate_ruleset, validate_segment
from flagsite_sdk.engine.limits import (
    MAX_CLAUSES,
    MAX_PREREQUISITE_DEPTH,
    MAX_RULES,
    MAX_SEGMENT_DEPTH,
    MAX_SEGMENT_KEYS,
    MAX_SEGMENTS,
    MAX_VALUES,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from .builders import boolean_flag, clause, rule, ruleset, segment


class CountingContext(dict[str, Any]):
    """A context that counts how often each attribute is read: every segment below tests an
    attribute of its own (`a-<segment key>`), so the reads count the segment's evaluations."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.reads: dict[str, int] = {}

    def get(self, key: str, default: Any = None) -> Any:
        self.reads[key] = self.reads.get(key, 0) + 1
        return super().get(key, default)


def ladder(levels: int) -> tuple[dict[str, Any], ...]:
    """The issue's shape: two segments per level, each using both segments of the next level;
    the last level never matches, so every alternative is tried."""
    segments = []
    for level in range(levels):
        for side in "ab":
            key = f"s{level}{side}"
            clauses = [clause(f"a-{key}", "in" if level == levels - 1 else "not_in", "x")]
            if level + 1 < levels:
                clauses.append({"op": "segment", "values": [f"s{level + 1}a", f"s{level + 1}b"]})
            segments.append(segment(key, clauses=clauses))
    return tuple(segments)


def test_a_segment_is_evaluated_once_per_evaluation_however_deep_the_nesting() -> None:
    # 2 x 16 segments: without the memo the innermost ones were evaluated 2^15 times.
    segments = ladder(16)
    flag = boolean_flag(rules=[rule("r1", {"op": "segment", "values": ["s0a", "s0b"]})])
    rs = ruleset(flag, segments=segments)
    context = CountingContext({"key": "u"})
    assert evaluate(rs, "f", context).variant == "off"
    assert max(context.reads[f"a-{s['key']}"] for s in segments) == 1


def test_segments_used_by_several_rules_and_flags_are_evaluated_once() -> None:
    segments = (segment("inner", clauses=[clause("a-inner", "eq", "yes")]),)
    uses = {"op": "segment", "values": ["inner"]}
    flag = boolean_flag(rules=[rule("r1", uses, clause("x", "eq", 1)), rule("r2", uses)])
    rs = ruleset(flag, boolean_flag("g", rules=[rule("r1", uses)]), segments=segments)
    context = CountingContext({"key": "u", "a-inner": "yes"})
    assert evaluate(rs, "f", context).rule_id == "r2"
    assert context.reads["a-inner"] == 1
    evaluate_all(rs, context)  # both flags share one memo
    assert context.reads["a-inner"] == 2


def test_a_prerequisite_reached_along_many_paths_is_evaluated_once() -> None:
    # Flags in 12 levels of two, each requiring both flags of the next level; the last level
    # reads an attribute of its own. Without the memo: 2^11 evaluations of each of them.
    flags = []
    levels = 12
    for level in range(levels):
        for side in "ab":
            prerequisites = [
                {"flag": f"p{level + 1}{s}", "variants": ["on"]} for s in "ab" if level + 1 < levels
            ]
            rules = [rule("r1", clause(f"a-p{level}{side}", "not_in", "x"))]
            flags.append(boolean_flag(f"p{level}{side}", prerequisites=prerequisites, rules=rules))
    rs = ruleset(*flags)
    context = CountingContext({"key": "u"})
    assert evaluate(rs, "p0a", context).variant == "on"
    assert max(context.reads.values()) <= 2  # `key` aside, each attribute once


@st.composite
def segment_graphs(draw: st.DrawFn) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """A random acyclic graph of segments (each may use any later one), each testing its own
    attribute, and a context that matches some of them."""
    count = draw(st.integers(1, 12))
    keys = [f"s{i}" for i in range(count)]
    segments = []
    context: dict[str, Any] = {"key": draw(st.sampled_from(["u", "alice"]))}
    for i, key in enumerate(keys):
        clauses: list[dict[str, Any]] = [clause(f"a-{key}", "eq", "yes")]
        later = keys[i + 1 :]
        if later:
            for _ in range(draw(st.integers(0, 2))):
                used = draw(st.lists(st.sampled_from(later), min_size=1, max_size=3))
                negate = draw(st.booleans())
                clauses.append({"op": "segment", "values": used, "negate": negate})
        draw(st.randoms()).shuffle(clauses)
        included = ["alice"] if draw(st.booleans()) else []
        segments.append(segment(key, clauses=clauses, included=included))
        if draw(st.booleans()):
            context[f"a-{key}"] = "yes"
    return segments, context


@settings(max_examples=150, deadline=None)
@given(graph=segment_graphs(), roots=st.lists(st.integers(0, 11), min_size=1, max_size=3))
def test_property_no_segment_is_evaluated_twice_in_one_evaluation(
    graph: tuple[list[dict[str, Any]], dict[str, Any]], roots: list[int]
) -> None:
    segments, context = graph
    keys = [s["key"] for s in segments]
    rules = [
        rule(f"r{i}", {"op": "segment", "values": [keys[r % len(keys)]]}, serve={"variant": "on"})
        for i, r in enumerate(roots)
    ]
    rs = ruleset(boolean_flag(rules=rules), segments=tuple(segments))
    assert rs.errors == {}
    counting = CountingContext(context)
    evaluate(rs, "f", counting)
    for key in keys:
        assert counting.reads.get(f"a-{key}", 0) <= 1, (key, counting.reads)


# --- limits ----------------------------------------------------------------------------------


def _chain(length: int) -> dict[str, dict[str, Any]]:
    """Segments c0 -> c1 -> ... (c0 uses c1 ...), `length` of them."""
    return {
        f"c{i}": segment(
            f"c{i}",
            clauses=[{"op": "segment", "values": [f"c{i + 1}"]}] if i + 1 < length else [],
        )
        for i in range(length)
    }


def test_segment_nesting_deeper_than_the_limit_is_refused() -> None:
    ok = _chain(MAX_SEGMENT_DEPTH)
    assert validate_ruleset({"flags": {}, "segments": ok}) == []
    too_deep = _chain(MAX_SEGMENT_DEPTH + 1)
    errors = validate_ruleset({"flags": {}, "segments": too_deep})
    assert errors[0].path == 'segments["c0"].clauses[0]'
    assert f"nested {MAX_SEGMENT_DEPTH + 1} deep" in errors[0].message
    assert f"the limit is {MAX_SEGMENT_DEPTH}" in errors[0].message


def test_making_an_inner_segment_deeper_is_refused_for_the_segments_above_it() -> None:
    # c0 -> ... -> c9 is at the limit; c9 starting to use one more segment pushes c0 over it.
    segments = _chain(MAX_SEGMENT_DEPTH) | {"extra": segment("extra")}
    last = f"c{MAX_SEGMENT_DEPTH - 1}"
    changed = segment(last, clauses=[{"op": "segment", "values": ["extra"]}])
    errors = validate_segment(changed, segments=segments)
    assert len(errors) == 1
    assert errors[0].path == "clauses[0]"
    assert '"c0" -> "c1"' in errors[0].message and '"extra"' in errors[0].message


def test_size_limits_name_the_field() -> None:
    many_keys = segment("big", included=[f"k{i}" for i in range(MAX_SEGMENT_KEYS + 1)])
    assert [e.path for e in validate_segment(many_keys)] == ["included"]
    many_clauses = segment("c", clauses=[clause("a", "eq", 1)] * (MAX_CLAUSES + 1))
    assert "more than 50 clauses" in validate_segment(many_clauses)[0].message
    many_values = segment("v", clauses=[clause("a", "in", *range(MAX_VALUES + 1))])
    assert [e.path for e in validate_segment(many_values)] == ["clauses[0].values"]
    flag = boolean_flag(rules=[rule(f"r{i}") for i in range(MAX_RULES + 1)])
    errors = validate_ruleset({"flags": {"f": flag}, "segments": {}})
    assert [(e.path, e.message) for e in errors] == [
        ('flags["f"].rules', f"more than {MAX_RULES} rules ({MAX_RULES + 1})")
    ]
    crowd = {f"s{i}": segment(f"s{i}") for i in range(MAX_SEGMENTS)}
    assert validate_segment(segment("s0"), segments=crowd) == []
    errors = validate_segment(segment("one-more"), segments=crowd)
    assert [e.path for e in errors] == ["key"]
    assert f"the limit is {MAX_SEGMENTS:,}" in errors[0].message


def test_prerequisite_chains_longer_than_the_limit_are_refused() -> None:
    n = MAX_PREREQUISITE_DEPTH + 1
    flags = {
        f"p{i}": boolean_flag(
            f"p{i}",
            prerequisites=[{"flag": f"p{i + 1}", "variants": ["off"]}] if i + 1 < n else [],
        )
        for i in range(n)
    }
    errors = validate_ruleset({"flags": flags, "segments": {}})
    assert [e.path for e in errors] == ['flags["p0"].prerequisites']
    assert f"the limit is {MAX_PREREQUISITE_DEPTH}" in errors[0].message


def test_validating_a_wide_deep_graph_reads_each_segment_a_bounded_number_of_times() -> None:
    # validate_ruleset builds the reference graph once: with 2 x 8 levels (within the limit),
    # reading every segment's clauses a few times, not once per other segment and level.
    segments = {s["key"]: s for s in ladder(8)}

    class Counting(dict[str, Any]):
        reads = 0

        def get(self, key: str, default: Any = None) -> Any:
            if key == "clauses":
                Counting.reads += 1
            return super().get(key, default)

    counted = {k: Counting(v) for k, v in segments.items()}
    assert validate_ruleset({"flags": {}, "segments": counted}) == []
    assert Counting.reads <= 4 * len(segments)
