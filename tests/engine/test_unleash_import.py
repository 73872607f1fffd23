"""The Unleash importer beyond Unleash's own spec: bucketing agreement, mapping, warnings."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flagsite_sdk.engine import compile_ruleset, evaluate, unleash_normalized, validate_ruleset
from flagsite_sdk.importers.unleash import (
    dumps,
    unleash_context,
    unleash_to_flagsite,
    unleash_variant,
)

USERS = [str(i) for i in range(3000)]


def _import(*features: dict[str, Any], segments: list[Any] | None = None) -> tuple[Any, Any]:
    result = unleash_to_flagsite(
        {"version": 2, "features": list(features), "segments": segments or []}
    )
    document = {
        "schema": 1,
        "flags": {f["key"]: f for f in result.flags},
        "segments": {s["key"]: s for s in result.segments},
    }
    assert validate_ruleset(document) == []
    ruleset = compile_ruleset(document)
    assert ruleset.errors == {}
    return result, ruleset


def _enabled(ruleset: Any, name: str, context: dict[str, Any]) -> bool:
    return evaluate(ruleset, name, unleash_context(context)).variant not in (None, "off")


def test_unleash_context_mapping() -> None:
    context = {
        "userId": "u1",
        "sessionId": "s1",
        "remoteAddress": "10.0.0.1",
        "environment": "prod",
        "appName": "web",
        "currentTime": "2024-01-01T00:00:00Z",
        "properties": {"plan": "pro", "userId": "shadowed", "gone": None},
    }
    assert unleash_context(context) == {
        "key": "u1",
        "userId": "u1",
        "sessionId": "s1",
        "remoteAddress": "10.0.0.1",
        "environment": "prod",
        "appName": "web",
        "now": "2024-01-01T00:00:00Z",
        "plan": "pro",
    }
    assert unleash_context({"properties": {"userId": "p"}}) == {"userId": "p", "key": "p"}


@pytest.mark.parametrize("percentage", [1, 10, 33, 50, 99])
def test_a_rollout_admits_exactly_the_users_unleash_admits(percentage: int) -> None:
    feature = {
        "name": "roll",
        "enabled": True,
        "strategies": [
            {
                "name": "flexibleRollout",
                "parameters": {
                    "rollout": str(percentage),
                    "stickiness": "userId",
                    "groupId": "grp",
                },
            }
        ],
    }
    _, ruleset = _import(feature)
    for user in USERS:
        expected = unleash_normalized("grp", user, 0, 100) <= percentage
        assert _enabled(ruleset, "roll", {"userId": user}) is expected, user


def _unleash_choice(group_id: str, user: str, weights: list[int]) -> int:
    """Unleash's selectVariantDefinition, written out plainly."""
    target = unleash_normalized(group_id, user, 86028157, sum(weights))
    counter = 0
    for index, weight in enumerate(weights):
        if weight == 0:
            continue
        counter += weight
        if counter >= target:
            return index
    raise AssertionError("unreachable")


@pytest.mark.parametrize(
    "weights", [[1, 49, 50], [333, 333, 334], [33, 33, 33], [0, 700, 0, 300], [1, 1], [7, 993]]
)
def test_variants_match_unleash_for_every_user(weights: list[int]) -> None:
    variants = [
        {"name": f"v{i}", "weight": w, "stickiness": "default"} for i, w in enumerate(weights)
    ]
    feature = {"name": "multi", "enabled": True, "strategies": [], "variants": variants}
    _, ruleset = _import(feature)
    for user in USERS:
        served = unleash_variant(evaluate(ruleset, "multi", unleash_context({"userId": user})))
        assert served["name"] == f"v{_unleash_choice('multi', user, weights)}", user


def test_variable_weights_are_shared_as_unleash_shares_them() -> None:
    variants = [
        {"name": "fixed", "weightType": "fix", "weight": 200},
        {"name": "a", "weightType": "variable"},
        {"name": "b", "weightType": "variable"},
        {"name": "c", "weightType": "variable"},
    ]
    result, _ = _import({"name": "w", "enabled": True, "strategies": [], "variants": variants})
    default = result.flags[0]["default"]
    assert default["hash"]["total"] == 1000
    assert [s["weight"] for s in default["split"]] == [20, 26.7, 26.7, 26.6]


def test_overrides_apply_only_when_the_strategy_matches() -> None:
    feature = {
        "name": "ov",
        "enabled": True,
        "strategies": [
            {
                "name": "default",
                "constraints": [
                    {"contextName": "environment", "operator": "IN", "values": ["prod"]}
                ],
            }
        ],
        "variants": [
            {
                "name": "blue",
                "weight": 500,
                "overrides": [{"contextName": "userId", "values": ["7"]}],
            },
            {"name": "red", "weight": 500},
        ],
    }
    result, ruleset = _import(feature)
    assert [r["id"] for r in result.flags[0]["rules"]] == ["strategy-1-override", "strategy-1"]

    def served(context: dict[str, Any]) -> Any:
        return unleash_variant(evaluate(ruleset, "ov", unleash_context(context)))["name"]

    assert served({"userId": "7", "environment": "prod"}) == "blue"
    assert served({"userId": "7", "environment": "dev"}) == "disabled"


def test_a_custom_strategy_is_left_out_with_a_warning() -> None:
    feature = {"name": "c", "enabled": True, "strategies": [{"name": "myCustom", "parameters": {}}]}
    result, ruleset = _import(feature)
    assert result.flags[0]["rules"] == []
    assert any("myCustom" in w for w in result.warnings)
    assert not _enabled(ruleset, "c", {"userId": "1"})  # as in Unleash: unknown is disabled


def test_unusable_constraints_never_match_and_are_reported() -> None:
    feature = {
        "name": "bad",
        "enabled": True,
        "strategies": [
            {
                "name": "default",
                "constraints": [{"contextName": "version", "operator": "SEMVER_EQ", "value": "v1"}],
            }
        ],
    }
    result, ruleset = _import(feature)
    assert not _enabled(ruleset, "bad", {"properties": {"version": "v1"}})
    assert any("SEMVER_EQ" in w and "'v1'" in w for w in result.warnings)
    inverted = {
        "name": "inv",
        "enabled": True,
        "strategies": [
            {
                "name": "default",
                "constraints": [
                    {"contextName": "x", "operator": "NO_SUCH_OP", "value": "1", "inverted": True}
                ],
            }
        ],
    }
    result, ruleset = _import(inverted)
    assert result.flags[0]["rules"][0]["clauses"] == []  # not(never) is always
    assert _enabled(ruleset, "inv", {})


def test_segments_become_segments_and_an_empty_one_holds_everyone() -> None:
    segments = [
        {
            "id": 1,
            "name": "Beta",
            "constraints": [{"contextName": "plan", "operator": "IN", "values": ["beta"]}],
        },
        {"id": 2, "constraints": []},
    ]
    feature = {
        "name": "s",
        "enabled": True,
        "strategies": [{"name": "default", "segments": [1, 2]}],
    }
    result, ruleset = _import(feature, segments=segments)
    assert [s["key"] for s in result.segments] == ["unleash-segment-1", "unleash-segment-2"]
    assert result.segments[0]["name"] == "Beta"
    assert _enabled(ruleset, "s", {"properties": {"plan": "beta"}})
    assert not _enabled(ruleset, "s", {"properties": {"plan": "free"}})


def test_dependencies_that_unleash_never_satisfies_import_the_flag_disabled() -> None:
    parent = {"name": "parent", "enabled": True, "strategies": []}
    child = {
        "name": "child",
        "enabled": True,
        "strategies": [],
        "dependencies": [{"feature": "parent", "variants": ["nope"]}],
    }
    result, ruleset = _import(parent, child)
    flags = {f["key"]: f for f in result.flags}
    assert flags["child"]["enabled"] is False
    assert not _enabled(ruleset, "child", {"userId": "1"})
    assert any("nope" in w for w in result.warnings)
    ok = {"name": "ok", "enabled": True, "strategies": [], "dependencies": [{"feature": "parent"}]}
    result, _ = _import(parent, ok)
    assert result.flags[1]["prerequisites"] == [{"flag": "parent", "variants": ["on"]}]


def test_odd_names_become_valid_variant_keys_and_keep_their_name() -> None:
    variants = [{"name": "blue sky!", "weight": 1}, {"name": "off", "weight": 1}]
    result, ruleset = _import(
        {"name": "n", "enabled": True, "strategies": [], "variants": variants}
    )
    keys = [v["key"] for v in result.flags[0]["variants"]]
    assert keys == ["off", "blue-sky-", "off-2"]
    names = {unleash_variant(evaluate(ruleset, "n", {"userId": u}))["name"] for u in USERS[:50]}
    assert names == {"blue sky!", "off"}


def test_the_dry_run_listing_is_json() -> None:
    result, _ = _import({"name": "a", "enabled": True, "strategies": [{"name": "default"}]})
    listed = json.loads(dumps(result))
    assert [f["key"] for f in listed["flags"]] == ["a"]
    assert listed["warnings"] == []
    assert unleash_to_flagsite({"nope": 1}).warnings == ["the document has no 'features' list"]


def _regex_feature(pattern: str) -> dict[str, Any]:
    constraint = {"contextName": "userId", "operator": "REGEX", "value": pattern}
    return {
        "name": "rx",
        "enabled": True,
        "strategies": [{"name": "default", "constraints": [constraint]}],
    }


@pytest.mark.parametrize(
    ("pattern", "text", "expected"),
    [
        ("^(?i)abc$", "AbC", True),
        ("a(?i)b|c", "C", True),  # the flag reaches the next alternative, as in RE2
        ("a(?i)b|c", "aB", True),
        ("a(?i)b|c", "Ab", False),
        ("(x(?i)y)z", "xYz", True),
        ("(x(?i)y)z", "xYZ", False),  # ... and ends with its group
        ("^[[:alpha:]]+$", "AlphaBeta", True),
        ("^[[:alpha:]]+$", "Alpha1", False),
        ("^[^[:digit:]]$", "x", True),
        ("^[[:^alpha:]]$", "1", True),
        ("^(?P<word>ab)+$", "abab", True),
        ("end\\z", "the end", True),
        ("(?s:a.b)", "a\nb", True),
        ("^\\pL+$", "ÄÖü", True),
        ("^(?U)a+$", "aaa", True),
    ],
)
def test_unleash_regexes_keep_their_re2_meaning(pattern: str, text: str, expected: bool) -> None:
    # The engine's dialect is RE2, as Unleash's: patterns are imported verbatim.
    result, ruleset = _import(_regex_feature(pattern))
    assert result.warnings == []
    assert result.flags[0]["rules"][0]["clauses"][0]["values"] == [pattern]
    assert _enabled(ruleset, "rx", {"userId": text}) is expected


@pytest.mark.parametrize("pattern", ["^(?=a)b", "(a)\\1", "(?<!x)y", "(a"])
def test_regexes_re2_refuses_never_match_as_in_unleash(pattern: str) -> None:
    result, ruleset = _import(_regex_feature(pattern))
    assert any("not usable" in w for w in result.warnings), result.warnings
    assert _enabled(ruleset, "rx", {"userId": "ab"}) is False


def test_malformed_input_is_skipped_with_a_warning_never_raised() -> None:
    data = {
        "features": [
            {"name": "ok", "enabled": True, "strategies": []},
            {"name": "odd", "enabled": True, "strategies": [{"name": "default", "parameters": []}]},
            {"name": "worse", "strategies": [{"name": "default", "constraints": "nope"}]},
            {"description": "no name"},
            "not even an object",
        ],
        "segments": [{"id": 1, "constraints": 5}, {"name": "no id"}],
    }
    result = unleash_to_flagsite(data)
    assert "ok" in [f["key"] for f in result.flags]
    assert len(result.warnings) >= 3
    document = {
        "flags": {f["key"]: f for f in result.flags},
        "segments": {s["key"]: s for s in result.segments},
    }
    assert validate_ruleset(document) == []
