"""evaluate() / evaluate_all(): rollouts over many users, broken data, and never raising.

The reasons table, rule order and prerequisites are shared JSON cases
(tests/engine/spec/03-reasons.json, run by test_spec.py)."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from flagsite_sdk.engine import (
    Evaluation,
    RulesetError,
    compile_ruleset,
    evaluate,
    evaluate_all,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from .builders import boolean_flag, clause, rule, ruleset, segment

SPLIT_50 = {"split": [{"variant": "on", "weight": 50}, {"variant": "off", "weight": 50}]}


def _one(flag: dict[str, Any], context: Any, **kw: Any) -> Evaluation:
    rs = ruleset(flag, **kw)
    assert rs.errors == {}
    return evaluate(rs, flag["key"], context)


def test_flag_not_found() -> None:
    rs = ruleset(boolean_flag())
    assert evaluate(rs, "nope", {}) == Evaluation(None, None, "ERROR", None, "FLAG_NOT_FOUND")
    # A wrong key type on purpose: the engine answers ERROR instead of raising.
    assert evaluate(rs, ["unhashable"], {}).reason == "ERROR"  # type: ignore[arg-type]


def test_a_rule_rollout_lets_the_others_fall_through() -> None:
    flag = boolean_flag(rules=[rule("r1", rollout={"percentage": 30, "bucket_by": "key"})])
    results = [_one(flag, {"key": f"u{i}"}) for i in range(2000)]
    served = sum(r.rule_id == "r1" for r in results)
    assert 500 < served < 700
    assert {r.rule_id for r in results} == {"r1", "default"}
    assert _one(flag, {}).rule_id == "default"  # no bucketing attribute: not admitted


def test_a_split_without_its_bucketing_attribute_serves_the_first_variant() -> None:
    flag = boolean_flag(default={**SPLIT_50, "bucket_by": ["user_id", "device_id"]})
    assert _one(flag, {"key": "u"}).variant == "on"
    varied = {_one(flag, {"device_id": f"d{i}"}).variant for i in range(50)}
    assert varied == {"on", "off"}


PREREQ = boolean_flag("parent", rules=[rule("r1", clause("tier", "eq", "paid"))])


def test_a_prerequisite_cycle_breaks_only_the_flags_on_it() -> None:
    a = boolean_flag("a", prerequisites=[{"flag": "b", "variants": ["on"]}])
    b = boolean_flag("b", prerequisites=[{"flag": "a", "variants": ["on"]}])
    rs = ruleset(a, b, boolean_flag("c"))
    assert set(rs.errors) == {"a", "b"}
    assert "cycle" in rs.errors["a"]
    assert evaluate(rs, "a", {}).error_code == "GENERAL"
    assert evaluate(rs, "c", {}).reason == "STATIC"


def test_prerequisite_depth_is_limited() -> None:
    flags = [boolean_flag("f0", default={"variant": "on"})]
    for i in range(1, 40):
        flags.append(
            boolean_flag(
                f"f{i}",
                default={"variant": "on"},
                prerequisites=[{"flag": f"f{i - 1}", "variants": ["on"]}],
            )
        )
    rs = ruleset(*reversed(flags))
    assert evaluate(rs, "f31", {}).variant == "on"
    assert evaluate(rs, "f39", {}).error_code == "GENERAL"
    assert "deeper" in rs.errors["f39"]


@pytest.mark.parametrize(
    "breakage",
    [
        {"default": {"variant": "nope"}},
        {"off_variant": "nope"},
        {"rules": [rule("r1", clause("a", "regex", "(unclosed"))]},
        {"rules": [rule("r1", clause("a", "frobnicate", "x"))]},
        {"rules": [rule("r1", clause("a", "num_lt", "twelve"))]},
        {"rules": [rule("r1", {"op": "segment", "values": ["missing"]})]},
        {"rules": [rule("r1"), rule("r1")]},
        {"default": {"split": [{"variant": "on", "weight": 60}, {"variant": "off", "weight": 60}]}},
        {"default": {"split": [{"variant": "on", "weight": 100}], "hash": {"mode": "md5"}}},
        {"variants": "not a list"},
        {"enabled": "yes"},
        {"rules": "nope"},
    ],
)
def test_a_broken_flag_is_an_error_and_the_others_still_work(breakage: dict[str, Any]) -> None:
    rs = ruleset(boolean_flag("broken", **breakage), boolean_flag("fine"))
    assert list(rs.errors) == ["broken"]
    assert evaluate(rs, "broken", {"key": "u", "a": "1"}) == Evaluation(
        None, None, "ERROR", None, "GENERAL"
    )
    assert evaluate(rs, "fine", {"key": "u"}).reason == "STATIC"


def test_a_segment_cycle_breaks_the_flags_that_use_it() -> None:
    segments = (
        segment("a", clauses=[{"op": "segment", "values": ["b"]}]),
        segment("b", clauses=[{"op": "segment", "values": ["a"]}]),
    )
    rs = ruleset(
        boolean_flag(rules=[rule("r1", {"op": "segment", "values": ["a"]})]),
        boolean_flag("other"),
        segments=segments,
    )
    assert "cycle" in rs.errors["f"]
    assert "other" not in rs.errors


def test_the_whole_ruleset_is_refused_only_when_unusable() -> None:
    bad: Any
    for bad in (None, [], {"schema": 2, "flags": {}}, {"schema": 1, "flags": []}):
        with pytest.raises(RulesetError):
            compile_ruleset(bad)
    assert len(compile_ruleset({"schema": 1})) == 0


def test_evaluate_all() -> None:
    rs = ruleset(boolean_flag("a"), boolean_flag("b", default={"variant": "on"}))
    assert {k: e.variant for k, e in evaluate_all(rs, {"key": "u"}).items()} == {
        "a": "off",
        "b": "on",
    }


def test_no_context_is_the_empty_context_and_a_non_mapping_is_an_error() -> None:
    rs = ruleset(boolean_flag(rules=[rule("r1", clause("tier", "not_in", "free"))]))
    # Wrong context types on purpose, as an untyped caller might pass them.
    assert evaluate(rs, "f", None).rule_id == "r1"  # type: ignore[arg-type]
    assert evaluate(rs, "f", 42).error_code == "GENERAL"  # type: ignore[arg-type]


def test_compiling_does_not_change_the_input() -> None:
    data = {"schema": 1, "flags": {"f": boolean_flag(default=SPLIT_50)}, "segments": {}}
    before = copy.deepcopy(data)
    compile_ruleset(data)
    assert data == before


# Text with lone surrogates too (st.text() leaves them out): they have no UTF-8 form, and
# mmh3 crashed the process on them.
characters = st.characters() | st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(characters, max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(characters, max_size=8), inner, max_size=4)
    ),
    max_leaves=6,
)
attribute_names = st.sampled_from(
    ["key", "tier", "email", "version", "ip", "now", "user", "roles", "n", "user.plan", "x"]
)
contexts = st.dictionaries(
    attribute_names | st.text(characters, max_size=6), json_values, max_size=8
)

EVERY_OPERATOR_FLAG = boolean_flag(
    "every-op",
    rules=[
        rule(
            "r1",
            clause("tier", "in", "paid", 3, True),
            clause("email", "ends_with", "@a.com", case_insensitive=True),
        ),
        rule("r2", clause("version", "semver_gte", "1.2.3"), clause("n", "num_lt", 5)),
        rule("r3", clause("ip", "cidr", "10.0.0.0/8"), clause("now", "date_after", "2020-01-01")),
        rule(
            "r4",
            clause("email", "regex", "^a"),
            clause("roles", "not_in", "x"),
            rollout={"percentage": 50, "bucket_by": ["user", "key"]},
        ),
        rule(
            "r5",
            clause("user.plan", "exists"),
            {"op": "segment", "values": ["s"]},
            serve={**SPLIT_50, "bucket_by": "x"},
        ),
        rule(
            "r6",
            clause("x", "contains", "z", negate=True),
            serve={
                "split": [{"variant": "on", "weight": 100}],
                "hash": {"mode": "unleash", "group_id": "g", "total": 100},
            },
        ),
    ],
    default=SPLIT_50,
)
SEGMENTS = (segment("s", included=["a"], clauses=[clause("n", "num_gt", 1)], percentage=50),)


EVERY_OPERATOR_RULESET = ruleset(EVERY_OPERATOR_FLAG, segments=SEGMENTS)


def test_the_every_operator_flag_compiles() -> None:
    assert EVERY_OPERATOR_RULESET.errors == {}


@settings(max_examples=200, deadline=None)
@given(context=contexts)
def test_never_raises_on_an_arbitrary_context(context: dict[str, Any]) -> None:
    result = evaluate(EVERY_OPERATOR_RULESET, "every-op", context)
    assert isinstance(result, Evaluation)
    assert result.variant in ("on", "off"), result  # a bad context only fails to match


@settings(max_examples=120, deadline=None)
@given(flag=st.dictionaries(st.sampled_from(sorted(EVERY_OPERATOR_FLAG)), json_values))
def test_never_raises_on_arbitrary_flag_data(flag: dict[str, Any]) -> None:
    data = {**EVERY_OPERATOR_FLAG, **flag}
    rs = compile_ruleset({"schema": 1, "flags": {"f": data}, "segments": {}})
    assert isinstance(evaluate(rs, "f", {"key": "u", "tier": "paid"}), Evaluation)
