"""Small builders for ruleset data in the engine tests."""

from __future__ import annotations

from typing import Any

from flagsite_sdk.engine import Evaluation, Ruleset, compile_ruleset, evaluate


def boolean_flag(key: str = "f", **fields: Any) -> dict[str, Any]:
    """An enabled boolean flag with variants on/off, no rules, default off."""
    flag: dict[str, Any] = {
        "key": key,
        "kind": "boolean",
        "variants": [{"key": "on", "value": True}, {"key": "off", "value": False}],
        "enabled": True,
        "off_variant": "off",
        "prerequisites": [],
        "rules": [],
        "default": {"variant": "off"},
    }
    flag.update(fields)
    return flag


def rule(
    rule_id: str = "r1", *clauses: dict[str, Any], serve: Any = None, **fields: Any
) -> dict[str, Any]:
    return {"id": rule_id, "clauses": list(clauses), "serve": serve or {"variant": "on"}, **fields}


def clause(attribute: str, op: str, *values: Any, **fields: Any) -> dict[str, Any]:
    return {"attribute": attribute, "op": op, "values": list(values), **fields}


def segment(key: str, **fields: Any) -> dict[str, Any]:
    return {
        "key": key,
        "included": [],
        "excluded": [],
        "clauses": [],
        "percentage": None,
        "bucket_by": "key",
        **fields,
    }


def ruleset(*flags: dict[str, Any], segments: tuple[dict[str, Any], ...] = ()) -> Ruleset:
    return compile_ruleset(
        {
            "schema": 1,
            "flags": {f["key"]: f for f in flags},
            "segments": {s["key"]: s for s in segments},
        }
    )


def matches(clause_data: dict[str, Any], context: dict[str, Any], **compile_kw: Any) -> bool:
    """Does a one-clause rule serve `on` for this context? (Asserts the flag compiled.)"""
    rs = ruleset(boolean_flag(rules=[rule("r1", clause_data)]), **compile_kw)
    assert rs.errors == {}, rs.errors
    result: Evaluation = evaluate(rs, "f", context)
    assert result.error_code is None, result
    return result.variant == "on"
