"""compile_ruleset(data, previous=...) reuses what did not change and answers exactly as a fresh
compile does."""

from __future__ import annotations

import copy
from typing import Any

from flagsite_sdk.engine import compile_ruleset, evaluate

CONTEXTS = [
    {"key": f"user-{i}", "plan": plan, "country": country}
    for i in range(40)
    for plan, country in (("free", "de"), ("pro", "fr"))
] + [{"key": "vip-1"}, {"key": "vip-2", "plan": "pro"}, {}]


def _ruleset() -> dict[str, Any]:
    def flag(key: str, **extra: Any) -> dict[str, Any]:
        return {
            "key": key,
            "kind": "boolean",
            "salt": key,
            "version": 1,
            "variants": [{"key": "on", "value": True}, {"key": "off", "value": False}],
            "enabled": True,
            "off_variant": "off",
            "prerequisites": [],
            "rules": [],
            "default": {"variant": "off"},
        } | extra

    return {
        "schema": 1,
        "environment": "dev",
        "version": 1,
        "segments": {
            "vips": {
                "key": "vips",
                "included": ["vip-1", "vip-2"],
                "excluded": [],
                "clauses": [],
                "percentage": None,
                "bucket_by": "key",
            },
            "pro": {
                "key": "pro",
                "included": [],
                "excluded": [],
                "clauses": [{"attribute": "plan", "op": "in", "values": ["pro"]}],
                "percentage": None,
                "bucket_by": "key",
            },
            "pro-or-vip": {
                "key": "pro-or-vip",
                "included": [],
                "excluded": [],
                "clauses": [{"op": "segment", "values": ["pro", "vips"]}],
                "percentage": None,
                "bucket_by": "key",
            },
        },
        "flags": {
            "plain": flag("plain"),
            "for-vips": flag(
                "for-vips",
                rules=[
                    {
                        "id": "r",
                        "clauses": [{"op": "segment", "values": ["vips"]}],
                        "serve": {"variant": "on"},
                    }
                ],
            ),
            "nested": flag(
                "nested",
                rules=[
                    {
                        "id": "r",
                        "clauses": [{"op": "segment", "values": ["pro-or-vip"]}],
                        "serve": {"variant": "on"},
                    }
                ],
            ),
            "split": flag(
                "split",
                default={
                    "split": [{"variant": "on", "weight": 30}, {"variant": "off", "weight": 70}]
                },
            ),
            "child": flag(
                "child",
                prerequisites=[{"flag": "split", "variants": ["on"]}],
                default={"variant": "on"},
            ),
            "grandchild": flag(
                "grandchild",
                prerequisites=[{"flag": "child", "variants": ["on"]}],
                default={"variant": "on"},
            ),
            "broken": flag("broken", off_variant="nope", enabled=False),
        },
    }


def _answers(ruleset: Any, data: dict[str, Any]) -> list[Any]:
    keys = [*data["flags"], "missing"]
    return [evaluate(ruleset, k, ctx) for k in keys for ctx in CONTEXTS]


def _check(before: dict[str, Any], after: dict[str, Any]) -> tuple[Any, Any]:
    old = compile_ruleset(before)
    new = compile_ruleset(after, previous=old)
    fresh = compile_ruleset(after)
    assert _answers(new, after) == _answers(fresh, after)
    assert new.errors == fresh.errors
    assert set(new.functions) == set(fresh.functions)
    return old, new


def test_toggling_one_flag_recompiles_only_that_flag() -> None:
    before = _ruleset()
    after = copy.deepcopy(before)
    after["flags"]["plain"]["enabled"] = False
    old, new = _check(before, after)
    assert new.functions["plain"] is not old.functions["plain"]
    for key in ("for-vips", "nested", "split", "child", "grandchild", "broken"):
        assert new.functions[key] is old.functions[key], key
    assert new.errors == {"broken": old.errors["broken"]}


def test_a_changed_segment_recompiles_the_flags_that_use_it_even_through_another_segment() -> None:
    before = _ruleset()
    after = copy.deepcopy(before)
    after["segments"]["vips"]["included"] = ["vip-1", "user-3"]
    old, new = _check(before, after)
    assert new.functions["for-vips"] is not old.functions["for-vips"]
    assert new.functions["nested"] is not old.functions["nested"]
    assert new.functions["plain"] is old.functions["plain"]
    assert new.functions["split"] is old.functions["split"]


def test_a_changed_prerequisite_recompiles_every_flag_that_requires_it() -> None:
    before = _ruleset()
    after = copy.deepcopy(before)
    after["flags"]["split"]["default"]["split"] = [
        {"variant": "on", "weight": 90},
        {"variant": "off", "weight": 10},
    ]
    old, new = _check(before, after)
    for key in ("split", "child", "grandchild"):
        assert new.functions[key] is not old.functions[key], key
    assert new.functions["plain"] is old.functions["plain"]


def test_additions_removals_cycles_and_fixes_answer_as_a_fresh_compile() -> None:
    steps: list[Any] = []
    data = _ruleset()
    steps.append(copy.deepcopy(data))
    data["flags"]["uses-new"] = copy.deepcopy(data["flags"]["for-vips"]) | {"key": "uses-new"}
    data["flags"]["uses-new"]["rules"][0]["clauses"][0]["values"] = ["later"]  # unknown: broken
    steps.append(copy.deepcopy(data))
    data["segments"]["later"] = copy.deepcopy(data["segments"]["vips"]) | {"key": "later"}
    steps.append(copy.deepcopy(data))  # now it compiles
    data["flags"]["split"]["prerequisites"] = [{"flag": "grandchild", "variants": ["on"]}]
    steps.append(copy.deepcopy(data))  # a cycle: split -> grandchild -> child -> split
    data["flags"]["split"]["prerequisites"] = []
    steps.append(copy.deepcopy(data))  # fixed again
    del data["flags"]["child"]
    del data["segments"]["vips"]
    steps.append(copy.deepcopy(data))
    previous = compile_ruleset(steps[0])
    for step in steps[1:]:
        new = compile_ruleset(step, previous=previous)
        fresh = compile_ruleset(step)
        assert _answers(new, step) == _answers(fresh, step)
        assert new.errors == fresh.errors
        previous = new
