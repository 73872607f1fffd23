"""Unleash's own client specification (v6.1.0, vendored in unleash_spec/), run through the
importer and the engine: every `tests` entry (isEnabled) and `variantTests` entry (getVariant).

Left out: 05 (a random rollout: no fixed answer exists) and 19-20 (the delta protocol, which is
about fetching, not evaluating). 07 is kept: its random strategies are all at 0 %.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from flagsite_sdk.engine import Ruleset, compile_ruleset, evaluate, validate_ruleset
from flagsite_sdk.importers.unleash import (
    ImportResult,
    unleash_context,
    unleash_to_flagsite,
    unleash_variant,
)

SPEC_DIR = Path(__file__).parent / "unleash_spec"
SKIPPED = {
    "05-gradual-rollout-random-strategy.json",
    "19-delta-api-hydration.json",
    "20-delta-api-events.json",
}
SPEC_FILES = [
    name for name in json.loads((SPEC_DIR / "index.json").read_text()) if name not in SKIPPED
]


@cache
def _spec(name: str) -> dict[str, Any]:
    return json.loads((SPEC_DIR / name).read_text(encoding="utf-8"))


@cache
def _imported(name: str) -> tuple[ImportResult, dict[str, Any], Ruleset]:
    result = unleash_to_flagsite(_spec(name)["state"])
    document = {
        "schema": 1,
        "flags": {f["key"]: f for f in result.flags},
        "segments": {s["key"]: s for s in result.segments},
    }
    return result, document, compile_ruleset(document)


def _cases(kind: str) -> list[Any]:
    params = []
    for name in SPEC_FILES:
        for i, case in enumerate(_spec(name).get(kind, [])):
            test_id = f"{name[:2]}-{i:02d}-{case['description']}"
            params.append(pytest.param(name, case, id=test_id))
    return params


@pytest.mark.parametrize("name", SPEC_FILES)
def test_import_is_valid_and_compiles(name: str) -> None:
    _, document, ruleset = _imported(name)
    assert validate_ruleset(document) == []
    assert ruleset.errors == {}


@pytest.mark.parametrize(("name", "case"), _cases("tests"))
def test_is_enabled(name: str, case: dict[str, Any]) -> None:
    _, document, ruleset = _imported(name)
    toggle = case["toggleName"]
    result = evaluate(ruleset, toggle, unleash_context(case["context"]))
    flag = document["flags"].get(toggle)
    enabled = flag is not None and result.variant not in (None, flag["off_variant"])
    assert enabled is case["expectedResult"], case["description"]


@pytest.mark.parametrize(("name", "case"), _cases("variantTests"))
def test_get_variant(name: str, case: dict[str, Any]) -> None:
    _, _, ruleset = _imported(name)
    result = evaluate(ruleset, case["toggleName"], unleash_context(case["context"]))
    assert unleash_variant(result) == case["expectedResult"], case["description"]


def test_the_skipped_files_are_the_random_and_delta_ones() -> None:
    everything = json.loads((SPEC_DIR / "index.json").read_text())
    assert set(everything) >= SKIPPED
    assert len(SPEC_FILES) == len(everything) - 3


def _key_only(context: dict[str, Any]) -> dict[str, Any]:
    """The context an app using flagsite's SDK sends: the user id as `key`, no `userId`."""
    moved = dict(context)
    if "userId" in moved:
        moved["key"] = moved.pop("userId")
    return moved


def _user_id_only(context: dict[str, Any]) -> dict[str, Any]:
    """An Unleash-shaped context without `key`: rollouts fall back to the `userId` attribute."""
    return {k: v for k, v in context.items() if k != "key"}


@pytest.mark.parametrize(("name", "case"), _cases("tests") + _cases("variantTests"))
def test_user_id_as_key_gives_identical_answers(name: str, case: dict[str, Any]) -> None:
    _, _, ruleset = _imported(name)
    context = unleash_context(case["context"])
    expected = evaluate(ruleset, case["toggleName"], context)
    moved = _key_only(context)
    assert "userId" not in moved
    got = evaluate(ruleset, case["toggleName"], moved)
    assert (got.variant, got.value) == (expected.variant, expected.value), case["description"]


def test_imported_user_rules_read_key_and_buckets_fall_back_to_user_id() -> None:
    state = {
        "version": 2,
        "features": [
            {
                "name": "f",
                "enabled": True,
                "strategies": [
                    {"name": "userWithId", "parameters": {"userIds": "alice"}},
                    {
                        "name": "flexibleRollout",
                        "parameters": {"rollout": "50", "stickiness": "userId", "groupId": "f"},
                    },
                ],
            }
        ],
    }
    result = unleash_to_flagsite(state)
    ruleset = compile_ruleset({"schema": 1, "flags": {"f": result.flags[0]}, "segments": {}})
    assert "userId" not in json.dumps(result.flags[0]["rules"][0]["clauses"])
    assert evaluate(ruleset, "f", {"key": "alice"}).value is True
    seen = set()
    for i in range(200):
        by_key = evaluate(ruleset, "f", {"key": f"u{i}"}).value
        assert evaluate(ruleset, "f", _user_id_only({"userId": f"u{i}"})).value is by_key
        seen.add(by_key)
    assert seen == {True, False}
