"""The dry-run plan of an Unleash import: what it creates, what it changes (with diffs against
today's flags and segments) and every warning from the converter. Reads, never writes.

The plan is plain JSON (stored on the ImportJob, rendered by the page) and its digest is how
"Apply" knows the data is still what the person reviewed: the plan is made again at apply time
and a different digest means something changed in between (docs/operations.md).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from flagsite_sdk.importers.unleash import unleash_to_flagsite

from flags.changes import CONFIG_FIELDS
from flags.diff import json_diff
from flags.models import Environment, Flag, FlagConfig, Segment
from flags.policy import production_exists, production_segment_keys
from flags.unleash_import import import_steps, variants_differ

SEGMENT_FIELDS = ("included", "excluded", "clauses", "percentage", "bucket_by")
CREATE, CHANGE, UNCHANGED = "create", "change", "unchanged"


def import_plan(*, data: dict[str, Any], environment: Environment) -> dict[str, Any]:
    result = unleash_to_flagsite(data)
    keys = [f["key"] for f in result.flags]
    existing = {f.key: f for f in Flag.objects.filter(key__in=keys)}
    configs = {
        c.flag_id: c.as_data()
        for c in FlagConfig.objects.filter(environment=environment, flag__key__in=keys)
    }
    flags = [_flag_row(item, existing.get(item["key"]), configs) for item in result.flags]
    blocking = [
        f"{row['key']}: exists as a {row['existing_kind']} flag, and Unleash's feature imports "
        f"as a {row['kind']} flag (a flag's kind cannot change)"
        for row in flags
        if row.get("existing_kind") not in (None, row["kind"])
    ]
    segments = _segment_rows(result.segments)
    definitions_change = any(row["definition_diff"] for row in flags)
    segments_changed = {row["key"] for row in segments if row["action"] == CHANGE}
    reaches_production = (
        environment.is_production
        or (definitions_change and production_exists())
        or bool(segments_changed & production_segment_keys())
    )
    return {
        "environment": environment.key,
        "flags": flags,
        "segments": segments,
        "warnings": list(result.warnings),
        "blocking": blocking,
        "counts": {
            "flags": len(flags),
            **{action: sum(r["action"] == action for r in flags) for action in _ACTIONS},
            "segments": len(segments),
            "warnings": len(result.warnings),
        },
        "steps": import_steps(result),
        "reaches_production": reaches_production,
    }


_ACTIONS = (CREATE, CHANGE, UNCHANGED)


def plan_digest(plan: dict[str, Any]) -> str:
    text = json.dumps(plan, sort_keys=True, ensure_ascii=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def _flag_row(
    item: dict[str, Any], flag: Flag | None, configs: dict[int, dict[str, Any]]
) -> dict[str, Any]:
    after = {name: item[name] for name in CONFIG_FIELDS}
    row: dict[str, Any] = {
        "key": item["key"],
        "kind": item["kind"],
        "variants": [v["key"] for v in item["variants"]],
        "enabled": item["enabled"],
        "rules": len(item["rules"]),
        "definition_diff": [],
        "config_diff": [],
    }
    if flag is None:
        return row | {"action": CREATE}
    if variants_differ(flag, item):
        ours = [{"key": v.get("key"), "value": v.get("value")} for v in flag.variants]
        theirs = [{"key": v["key"], "value": v.get("value")} for v in item["variants"]]
        row["definition_diff"] = json_diff({"variants": ours}, {"variants": theirs})
    row["config_diff"] = json_diff(configs.get(flag.id, {}), after)
    row["existing_kind"] = flag.kind
    changed = row["definition_diff"] or row["config_diff"]
    return row | {"action": CHANGE if changed else UNCHANGED}


def _segment_rows(imported: list[dict[str, Any]]) -> list[dict[str, Any]]:
    existing = {s.key: s for s in Segment.objects.filter(key__in=[s["key"] for s in imported])}
    rows = []
    for item in imported:
        segment = existing.get(item["key"])
        row: dict[str, Any] = {"key": item["key"], "name": item.get("name") or item["key"]}
        if segment is None:
            rows.append(row | {"action": CREATE, "diff": []})
            continue
        before = {name: getattr(segment, name) for name in SEGMENT_FIELDS}
        after = {name: item[name] for name in SEGMENT_FIELDS if name in item}
        diff = json_diff({k: before[k] for k in after}, after)
        rows.append(row | {"action": CHANGE if diff else UNCHANGED, "diff": diff})
    return rows
