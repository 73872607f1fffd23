"""One flag in two environments: what differs, and what copying one's targeting to the other
would change (docs/ui.md, "Compare and copy environments").

*Targeting* is what the rule editor edits: the off variant, the rules, the default rule and the
prerequisites. The on/off state is not targeting: a copy leaves the target's switch as it is.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from .diff import json_diff
from .models import Environment, Flag, FlagConfig, Lifecycle, Segment
from .policy import production_segment_keys, rules_segment_keys

TARGETING_FIELDS = ("off_variant", "rules", "default", "prerequisites")


def targeting_of(config: FlagConfig) -> dict[str, Any]:
    """The targeting part of a configuration (a deep copy: safe to hand to a change)."""
    return {name: copy.deepcopy(getattr(config, name)) for name in TARGETING_FIELDS}


def variant_uses(data: dict[str, Any]) -> dict[str, list[str]]:
    """Which part of a configuration serves each variant: {"gpt-4": ["off", "default 50%",
    "rule internal"]}. Rollout percentages and split weights are part of the text."""
    uses: dict[str, list[str]] = {}

    def serve(where: str, serve: Any) -> None:
        if not isinstance(serve, dict):
            return
        if "split" in serve:
            for part in serve.get("split") or []:
                if isinstance(part, dict) and part.get("weight"):
                    uses.setdefault(str(part.get("variant")), []).append(
                        f"{where} {_percent(part['weight'])}%"
                    )
        elif serve.get("variant") is not None:
            uses.setdefault(str(serve["variant"]), []).append(where)

    uses.setdefault(str(data.get("off_variant")), []).append("off")
    for rule in data.get("rules") or []:
        if isinstance(rule, dict):
            rollout = (rule.get("rollout") or {}).get("percentage")
            name = f"rule {rule.get('name') or rule.get('id')}"
            if rollout is not None:
                name = f"{name} ({_percent(rollout)}% rollout)"
            serve(name, rule.get("serve"))
    serve("default", data.get("default"))
    return uses


def _percent(value: Any) -> str:
    return f"{value:g}" if isinstance(value, int | float) else str(value)


@dataclass
class CopyPlan:
    """What copying `source`'s targeting to `target` would do, against `target` now."""

    flag: Flag
    source: Environment
    target: Environment
    source_version: int
    target_version: int
    changes: dict[str, Any]
    # json_diff of the target's targeting now -> after the copy (empty: nothing to copy)
    diff: list[dict[str, Any]]
    target_enabled: bool
    # Refusals known before trying (a missing segment, an archived prerequisite).
    problems: list[str] = field(default_factory=list)
    # Segments production starts to use (their later changes need an admin and a comment).
    segments_reaching_production: list[str] = field(default_factory=list)


def copy_plan(flag: Flag, source: Environment, target: Environment) -> CopyPlan:
    configs = {
        c.environment_id: c
        for c in FlagConfig.objects.filter(flag=flag, environment__in=[source, target])
    }
    src, dst = configs[source.id], configs[target.id]
    changes = targeting_of(src)
    segments = rules_segment_keys(changes["rules"])
    existing = set(Segment.objects.filter(key__in=segments).values_list("key", flat=True))
    problems = [
        f"Segment {key} does not exist any more: the rules of {source.name} that use it"
        " cannot be copied."
        for key in segments
        if key not in existing
    ]
    prerequisites = [p.get("flag") for p in changes["prerequisites"] if isinstance(p, dict)]
    active = set(
        Flag.objects.filter(key__in=prerequisites)
        .exclude(lifecycle=Lifecycle.ARCHIVED)
        .values_list("key", flat=True)
    )
    problems += [
        f"Prerequisite flag {key} is archived or gone, so {target.name} could not evaluate it."
        for key in prerequisites
        if key not in active
    ]
    reaching: list[str] = []
    if target.is_production:
        already = production_segment_keys()
        reaching = [key for key in segments if key in existing and key not in already]
    return CopyPlan(
        flag=flag,
        source=source,
        target=target,
        source_version=src.version,
        target_version=dst.version,
        changes=changes,
        diff=json_diff(targeting_of(dst), changes),
        target_enabled=dst.enabled,
        problems=problems,
        segments_reaching_production=reaching,
    )
