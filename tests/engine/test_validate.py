"""validate_flag / validate_segment / validate_ruleset: what the server refuses at save time."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from flagsite_sdk.engine import (
    compile_ruleset,
    evaluate,
    validate_flag,
    validate_ruleset,
    validate_segment,
)

from .builders import boolean_flag, clause, rule, segment

SEGMENTS = {"staff": segment("staff", included=["alice"])}


def _errors(flag: dict[str, Any], flags: dict[str, Any] | None = None) -> dict[str, str]:
    return {e.path: e.message for e in validate_flag(flag, segments=SEGMENTS, flags=flags)}


def _split(*weights: Any, variants: tuple[str, ...] = ("on", "off")) -> dict[str, Any]:
    return {"split": [{"variant": v, "weight": w} for v, w in zip(variants, weights, strict=True)]}


def test_a_valid_flag_has_no_errors() -> None:
    flag = boolean_flag(
        rules=[
            rule("r1", {"op": "segment", "values": ["staff"]}, name="staff"),
            rule(
                "r2",
                clause("email", "ends_with", "@acme.com", case_insensitive=True),
                rollout={"percentage": 12.5, "bucket_by": ["user", "key"]},
                serve=_split(33.333, 66.667),
            ),
        ],
        default=_split(50, 50),
    )
    assert validate_flag(flag, segments=SEGMENTS, flags=None) == []


def test_the_doc_example_ruleset_is_valid() -> None:
    # The JSON example at the top of docs/ruleset.md, with the flag its prerequisite names.
    doc = (Path(__file__).parents[2] / "docs" / "ruleset.md").read_text(encoding="utf-8")
    data = json.loads(doc.split("```json", 1)[1].split("```", 1)[0])
    data["flags"]["new-rag-pipeline"] = boolean_flag("new-rag-pipeline", default={"variant": "on"})
    assert validate_ruleset(data) == []
    ruleset = compile_ruleset(data)
    assert ruleset.errors == {}
    assert evaluate(ruleset, "llm-model", {"key": "alice"}) == (
        "gpt-4-turbo",
        "gpt-4-turbo",
        "TARGETING_MATCH",
        "r1",
        None,
    )
    assert evaluate(ruleset, "llm-model", {"key": "zed", "email": "zed@acme.com"}).rule_id == "r1"


@pytest.mark.parametrize(
    ("serve", "path", "words"),
    [
        (_split(50, 40), "rules[0].serve.split", "add up to 90, not 100"),
        (_split(50.0001, 49.9999), "rules[0].serve.split[0].weight", "at most 3 decimals"),
        (_split(-10, 110), "rules[0].serve.split[0].weight", "from 0 to 100"),
        (_split(True, 99), "rules[0].serve.split[0].weight", "from 0 to 100"),
        (_split(50, 50, variants=("on", "maybe")), "rules[0].serve.split[1].variant", '"maybe"'),
        (_split(50, 50, variants=("on", "on")), "rules[0].serve.split[1].variant", "twice"),
        ({"variant": "maybe"}, "rules[0].serve.variant", 'unknown variant "maybe"'),
        ({"variant": "on", "split": []}, "rules[0].serve", "either a variant or a split"),
        ({**_split(100, 0), "bucket_by": []}, "rules[0].serve.bucket_by", "bucket_by"),
        ({**_split(100, 0), "hash": {"mode": "sha1"}}, "rules[0].serve.hash", "unknown hash"),
        ({**_split(100, 0), "salt": 5}, "rules[0].serve.salt", "salt must be a string"),
        ({**_split(100, 0), "salt": ""}, "rules[0].serve.salt", "1-128 characters"),
    ],
)
def test_serve_problems_name_the_rule_and_field(serve: Any, path: str, words: str) -> None:
    errors = _errors(boolean_flag(rules=[rule("r7", serve=serve, name="beta users")]))
    assert path in errors, errors
    assert 'rule "beta users" (r7)' in errors[path]
    assert words in errors[path]


def test_weights_with_three_decimals_are_exact() -> None:
    flag = boolean_flag(default=_split(33.333, 66.667))
    assert _errors(flag) == {}
    assert (
        "add up to 99.999" in _errors(boolean_flag(default=_split(33.333, 66.666)))["default.split"]
    )


@pytest.mark.parametrize(
    ("data", "path", "words"),
    [
        (clause("a", "regex", "(unclosed"), "rules[0].clauses[0].values[0]", "does not compile"),
        (clause("a", "regex", "ok", "[bad"), "rules[0].clauses[0].values[1]", "does not compile"),
        (clause("a", "frobnicate", "x"), "rules[0].clauses[0].op", 'unknown operator "frobnicate"'),
        (clause("a", "num_lt", "twelve"), "rules[0].clauses[0].values[0]", "not a number"),
        (clause("a", "semver_gt", "v1.2"), "rules[0].clauses[0].values[0]", "not a SemVer"),
        (clause("a", "date_after", "yesterday"), "rules[0].clauses[0].values[0]", "RFC 3339"),
        (clause("a", "cidr", "10.0.0.0/8", "10.0.0.300"), "rules[0].clauses[0].values[1]", "CIDR"),
        (clause("a", "starts_with", 5), "rules[0].clauses[0].values[0]", "must be a string"),
        (
            clause("a", "in", "x", {"an": "object"}),
            "rules[0].clauses[0].values[1]",
            "string, number",
        ),
        (clause("a", "num_eq", 1, 2), "rules[0].clauses[0].values", "exactly one value"),
        (clause("a", "contains"), "rules[0].clauses[0].values", "at least one value"),
        (clause("", "in", "x"), "rules[0].clauses[0].attribute", "attribute name"),
        (
            clause("a", "num_eq", 1, case_insensitive=True),
            "rules[0].clauses[0].case_insensitive",
            "",
        ),
        (clause("a", "in", "x", negate="yes"), "rules[0].clauses[0].negate", "true or false"),
        (
            {"op": "segment", "values": ["nobody"]},
            "rules[0].clauses[0].values[0]",
            'unknown segment "nobody"',
        ),
    ],
)
def test_clause_problems(data: dict[str, Any], path: str, words: str) -> None:
    errors = _errors(boolean_flag(rules=[rule("r1", data)]))
    assert path in errors, errors
    assert words in errors[path]
    assert "rule 1 (r1), clause 1" in errors[path]


def test_empty_in_and_not_in_are_allowed() -> None:
    flag = boolean_flag(rules=[rule("r1", clause("a", "in")), rule("r2", clause("a", "not_in"))])
    assert _errors(flag) == {}


@pytest.mark.parametrize(
    ("kind", "value", "ok"),
    [
        ("boolean", True, True),
        ("boolean", 1, False),
        ("string", "x", True),
        ("string", 1, False),
        ("number", 1.5, True),
        ("number", True, False),
        ("number", float("nan"), False),
        ("json", {"a": [1, None]}, True),
        ("json", {1: "non-string key"}, False),
    ],
)
def test_variant_values_must_match_the_kind(kind: str, value: Any, ok: bool) -> None:
    flag = boolean_flag(
        kind=kind, variants=[{"key": "on", "value": value}, {"key": "off", "value": value}]
    )
    errors = _errors(flag)
    assert ("variants[0].value" not in errors) is ok, errors


def test_variant_keys_are_unique_and_well_formed() -> None:
    flag = boolean_flag(
        variants=[
            {"key": "on", "value": True},
            {"key": "on", "value": False},
            {"key": "has space", "value": False},
        ]
    )
    errors = _errors(flag)
    assert "defined twice" in errors["variants[1].key"]
    assert "letters, digits" in errors["variants[2].key"]
    assert "unknown variant" in errors["off_variant"]


def test_rule_ids_are_unique() -> None:
    errors = _errors(boolean_flag(rules=[rule("r1"), rule("r1")]))
    assert "used twice" in errors["rules[1].id"]


def test_kind_enabled_default_and_rollout() -> None:
    flag = boolean_flag(
        kind="integer", enabled="yes", rules=[rule("r1", rollout={"percentage": 101})]
    )
    del flag["default"]
    errors = _errors(flag)
    assert set(errors) == {"kind", "enabled", "default", "rules[0].rollout.percentage"}


def test_prerequisites() -> None:
    flags = {"parent": boolean_flag("parent")}
    flag = boolean_flag(
        prerequisites=[
            {"flag": "parent", "variants": ["on", "maybe"]},
            {"flag": "ghost", "variants": ["on"]},
            {"flag": "f", "variants": ["on"]},
            {"flag": "parent", "variants": []},
        ]
    )
    errors = _errors(flag, flags)
    assert 'has no variant "maybe"' in errors["prerequisites[0].variants[1]"]
    assert "unknown flag" in errors["prerequisites[1].flag"]
    assert "cannot require itself" in errors["prerequisites[2].flag"]
    assert "list the variants" in errors["prerequisites[3].variants"]
    # Without the other flags only what the flag says alone is checked.
    assert set(_errors(flag)) == {"prerequisites[2].flag", "prerequisites[3].variants"}


def test_prerequisite_cycles_across_flags() -> None:
    a = boolean_flag("a", prerequisites=[{"flag": "b", "variants": ["on"]}])
    b = boolean_flag("b", prerequisites=[{"flag": "c", "variants": ["on"]}])
    c = boolean_flag("c")
    flags = {"a": a, "b": b, "c": c}
    assert _errors(a, flags) == {}
    new_c = boolean_flag("c", prerequisites=[{"flag": "a", "variants": ["off"]}])
    errors = _errors(new_c, flags | {"c": new_c})
    assert errors["prerequisites[0].flag"] == 'prerequisite cycle: "c" -> "a" -> "b" -> "c"'


def test_segment_problems() -> None:
    segments = {"staff": SEGMENTS["staff"]}
    bad = segment(
        "s", included=["ok", 5], clauses=[clause("a", "regex", "(")], percentage=5.5555, bucket_by=7
    )
    errors = {e.path: e.message for e in validate_segment(bad, segments=segments)}
    assert set(errors) == {"included[1]", "clauses[0].values[0]", "percentage", "bucket_by"}
    assert errors["clauses[0].values[0]"].startswith('segment "s", clause 1')


def test_segment_cycles() -> None:
    segments = {
        "a": segment("a", clauses=[{"op": "segment", "values": ["b"]}]),
        "b": segment("b", clauses=[{"op": "segment", "values": ["staff"]}]),
        "staff": segment("staff"),
    }
    assert validate_segment(segments["a"], segments=segments) == []
    new_staff = segment(
        "staff", clauses=[clause("x", "exists"), {"op": "segment", "values": ["a"]}]
    )
    errors = validate_segment(new_staff, segments=segments | {"staff": new_staff})
    assert [(e.path, e.message) for e in errors] == [
        ("clauses[1]", 'segment "staff": segment cycle "staff" -> "a" -> "b" -> "staff"')
    ]
    itself = segment("self", clauses=[{"op": "segment", "values": ["self"]}])
    assert "itself" in validate_segment(itself, segments={"self": itself})[0].message


def test_validate_ruleset_prefixes_paths() -> None:
    data = {
        "schema": 1,
        "flags": {
            "Feature.A": boolean_flag("Feature.A", default={"variant": "nope"}),
            "b": boolean_flag("c"),
        },
        "segments": {"s": segment("s", clauses=[{"op": "segment", "values": ["t"]}])},
    }
    paths = {e.path for e in validate_ruleset(data)}
    assert paths == {
        'flags["Feature.A"].default.variant',
        'flags["b"].key',
        'segments["s"].clauses[0].values[0]',
    }
    assert [e.path for e in validate_ruleset({"schema": 3, "flags": []})] == ["schema", "flags"]


def test_anything_that_validates_compiles() -> None:
    flag = boolean_flag(
        rules=[
            rule(
                "r1",
                clause("v", "semver_gte", "1.0.0-rc.1"),
                clause("ip", "cidr", "::1"),
                clause("t", "date_before", 1700000000),
            )
        ]
    )
    assert _errors(flag) == {}
    assert compile_ruleset({"flags": {"f": flag}}).errors == {}
