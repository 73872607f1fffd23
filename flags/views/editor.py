"""View-models for the rule and segment editors: config data + errors -> what templates render.

Templates cannot look errors up by a computed path, so each rule, clause and serve carries its
own messages here.
"""

from __future__ import annotations

import contextlib
from typing import Any

from flags.forms import CASE_OPS, OPERATORS, clause_values_text, new_id, variant_value_text
from flags.models import Flag, Segment

from ._common import split_errors


def _fmt(weight: Any) -> str:
    if weight in (None, ""):
        return ""
    try:
        return f"{float(weight):g}"
    except (TypeError, ValueError):
        return str(weight)


def serve_vm(serve: Any, prefix: str, variant_keys: list[str], errors: list[str]) -> dict[str, Any]:
    serve = serve if isinstance(serve, dict) else {}
    weights = {s.get("variant"): s.get("weight") for s in serve.get("split") or []}
    total = 0.0
    for w in weights.values():
        with contextlib.suppress(TypeError, ValueError):
            total += float(w)
    return {
        "prefix": prefix,
        "mode": "split" if "split" in serve else "variant",
        "variant": serve.get("variant", variant_keys[0] if variant_keys else ""),
        "weights": [
            {"index": i, "key": key, "value": _fmt(weights.get(key))}
            for i, key in enumerate(variant_keys)
        ],
        "total": f"{total:g}",
        "total_ok": abs(total - 100) < 1e-9,
        "bucket_by": serve.get("bucket_by") or "key",
        "errors": errors,
    }


def clause_vm(clause: Any, prefix: str, errors: list[str]) -> dict[str, Any]:
    clause = clause if isinstance(clause, dict) else {}
    op = clause.get("op", "in")
    return {
        "prefix": prefix,
        "attribute": clause.get("attribute", ""),
        "op": op,
        "values_text": clause_values_text(clause),
        "segments": list(clause.get("values") or []) if op == "segment" else [],
        "negate": bool(clause.get("negate")),
        "ci": bool(clause.get("case_insensitive")),
        "case_applies": op in CASE_OPS,
        "errors": errors,
    }


def config_editor(
    flag: Flag,
    config: dict[str, Any],
    errors: list[tuple[str, str]],
    *,
    other_flags: list[Flag],
) -> dict[str, Any]:
    keys = flag.variant_keys
    grouped = split_errors(errors)
    rules = []
    for i, rule in enumerate(config.get("rules") or []):
        rule = rule if isinstance(rule, dict) else {}
        rerr = grouped["rules"].get(i, {"rule": [], "serve": [], "clauses": {}})
        rollout = rule.get("rollout") or {}
        rules.append(
            {
                "index": i,
                "number": i + 1,
                "prefix": f"r{i}",
                "id": rule.get("id") or new_id(),
                "name": rule.get("name", ""),
                "rollout": _fmt(rollout.get("percentage")) if rollout else "",
                "clauses": [
                    clause_vm(c, f"r{i}-c{j}", rerr["clauses"].get(j, []))
                    for j, c in enumerate(rule.get("clauses") or [])
                ],
                "serve": serve_vm(rule.get("serve"), f"r{i}", keys, rerr["serve"]),
                "errors": rerr["rule"],
                "is_first": i == 0,
                "is_last": i == len(config.get("rules") or []) - 1,
            }
        )
    fields = grouped["fields"]
    return {
        "off_variant": config.get("off_variant", ""),
        "rules": rules,
        "rule_count": len(rules),
        "default": serve_vm(config.get("default"), "default", keys, fields.get("default", [])),
        "prerequisites": [
            {
                "index": k,
                "flag": p.get("flag", "") if isinstance(p, dict) else "",
                "variants": ", ".join((p.get("variants") or []) if isinstance(p, dict) else []),
                "errors": grouped["prerequisites"].get(k, []),
            }
            for k, p in enumerate(config.get("prerequisites") or [])
        ],
        "prereq_errors": fields.get("prerequisites", []),
        "off_errors": fields.get("off_variant", []),
        "comment_errors": fields.get("comment", []),
        "other_errors": [
            m for head, msgs in fields.items() if head not in KNOWN_HEADS for m in msgs
        ],
        "variant_keys": keys,
        "operators": OPERATORS,
        "segments": list(Segment.objects.values_list("key", "name")),
        "other_flags": other_flags,
    }


KNOWN_HEADS = {"default", "prerequisites", "off_variant", "comment"}


def variants_vm(
    kind: str,
    variants: list[dict[str, Any]],
    errors: list[tuple[str, str]],
    raw_texts: list[str] | None = None,
) -> list[dict[str, Any]]:
    """Variant rows; after a post, `raw_texts` keeps exactly what the person typed."""
    grouped = split_errors(errors)
    rows = []
    for i, v in enumerate(variants):
        if raw_texts is not None and i < len(raw_texts):
            text = raw_texts[i]
        else:
            text = variant_value_text(kind, v.get("value"))
        verr = grouped["variants"].get(i, {})
        rows.append(
            {
                "index": i,
                "prefix": f"v{i}",
                "key": v.get("key", ""),
                "name": v.get("name", ""),
                "text": text,
                "key_errors": verr.get("key", []),
                "value_errors": verr.get("value", []),
            }
        )
    return rows
