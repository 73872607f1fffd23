"""Small ruleset builders for the SDK tests (docs/ruleset.md, schema 1)."""

from __future__ import annotations

from typing import Any

BOOL_VARIANTS = [{"key": "on", "value": True}, {"key": "off", "value": False}]


def flag(
    key: str,
    *,
    kind: str = "boolean",
    variants: list[dict[str, Any]] | None = None,
    enabled: bool = True,
    rules: list[dict[str, Any]] | None = None,
    default: dict[str, Any] | None = None,
    off_variant: str | None = None,
) -> dict[str, Any]:
    variants = variants or BOOL_VARIANTS
    return {
        "key": key,
        "kind": kind,
        "salt": key,
        "version": 1,
        "variants": variants,
        "enabled": enabled,
        "off_variant": off_variant or variants[-1]["key"],
        "prerequisites": [],
        "rules": rules or [],
        "default": default or {"variant": variants[0]["key"]},
    }


def string_flag(key: str, values: list[str], **kw: Any) -> dict[str, Any]:
    return flag(key, kind="string", variants=[{"key": v, "value": v} for v in values], **kw)


def ruleset(
    *flags: dict[str, Any], version: int = 1, segments: dict[str, Any] | None = None
) -> dict[str, Any]:
    return {
        "schema": 1,
        "environment": "test",
        "version": version,
        "flags": {f["key"]: f for f in flags},
        "segments": segments or {},
    }


def sample_ruleset(version: int = 1, model_default: str = "gpt-4") -> dict[str, Any]:
    """A model flag (internal users get turbo), a boolean rollout and a JSON config."""
    return ruleset(
        string_flag(
            "llm-model",
            ["gpt-4", "gpt-4-turbo"],
            rules=[
                {
                    "id": "internal",
                    "clauses": [{"op": "segment", "values": ["internal"]}],
                    "serve": {"variant": "gpt-4-turbo"},
                }
            ],
            default={"variant": model_default},
        ),
        flag(
            "new-rag-pipeline",
            default={
                "split": [{"variant": "on", "weight": 50}, {"variant": "off", "weight": 50}],
                "bucket_by": "key",
            },
        ),
        flag(
            "rag-config",
            kind="json",
            variants=[
                {"key": "baseline", "value": {"top_k": 5}},
                {"key": "reranked", "value": {"top_k": 10}},
            ],
            rules=[
                {
                    "id": "paid",
                    "clauses": [{"attribute": "tier", "op": "eq", "values": ["paid"]}],
                    "serve": {"variant": "reranked"},
                }
            ],
        ),
        flag("killed", enabled=False),
        version=version,
        segments={
            "internal": {
                "key": "internal",
                "included": ["alice"],
                "excluded": [],
                "clauses": [],
                "percentage": None,
                "bucket_by": "key",
            }
        },
    )
