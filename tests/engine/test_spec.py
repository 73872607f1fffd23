"""The engine's shared JSON cases (tests/engine/spec/, format in its README.md), run against the
compiled engine and the reference interpreter. Any SDK in another language runs the same files."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from flagsite_sdk.engine import Ruleset, compile_ruleset, evaluate, validate_ruleset
from flagsite_sdk.engine.reference import reference_evaluate

SPEC_DIR = Path(__file__).parent / "spec"
SPEC_FILES = sorted(p.name for p in SPEC_DIR.glob("*.json"))
FIELDS = ("value", "variant", "reason", "rule_id", "error_code")


@cache
def _spec(name: str) -> dict[str, Any]:
    return json.loads((SPEC_DIR / name).read_text(encoding="utf-8"))


@cache
def _compiled(name: str) -> Ruleset:
    return compile_ruleset(_spec(name)["ruleset"])


def _cases() -> list[Any]:
    return [
        pytest.param(name, case, id=f"{name[:2]}-{i:03d}-{case['description'][:60]}")
        for name in SPEC_FILES
        for i, case in enumerate(_spec(name)["tests"])
    ]


@pytest.mark.parametrize("name", SPEC_FILES)
def test_each_spec_ruleset_is_valid_and_compiles(name: str) -> None:
    # A file may keep something the validator refuses (a prerequisite on a missing flag) to
    # pin down how the engine evaluates it; it says so in `expected_validation_errors`.
    errors = [e.path for e in validate_ruleset(_spec(name)["ruleset"])]
    assert errors == _spec(name).get("expected_validation_errors", [])
    assert _compiled(name).errors == {}


@pytest.mark.parametrize(("name", "case"), _cases())
def test_compiled_engine(name: str, case: dict[str, Any]) -> None:
    result = evaluate(_compiled(name), case["flag"], case["context"])
    assert dict(zip(FIELDS, result, strict=True)) == case["expected"]


@pytest.mark.parametrize(("name", "case"), _cases())
def test_reference_interpreter(name: str, case: dict[str, Any]) -> None:
    result = reference_evaluate(_spec(name)["ruleset"], case["flag"], case["context"])
    assert dict(zip(FIELDS, result, strict=True)) == case["expected"]
