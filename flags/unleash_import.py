"""Import Unleash features (client API JSON) into one environment, through flags.changes.

The conversion itself is pure and lives with the engine (flagsite_sdk.importers.unleash); this
module only writes: segments first, then flag definitions, then configurations with parents
before the flags that require them, so every step passes validation.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flagsite_sdk.importers.unleash import unleash_to_flagsite

from .changes import (
    Actor,
    changes_batch,
    flag_config_update,
    flag_create,
    flag_update,
    segment_create,
    segment_update,
)
from .models import Environment, Flag, Segment


@dataclass
class ImportPlan:
    create_segments: list[str] = field(default_factory=list)
    update_segments: list[str] = field(default_factory=list)
    create_flags: list[str] = field(default_factory=list)
    configure_flags: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def lines(self, environment: str) -> list[str]:
        out = [f"create segment {k}" for k in self.create_segments]
        out += [f"update segment {k}" for k in self.update_segments]
        out += [f"create flag {k}" for k in self.create_flags]
        out += [f"configure {k} in {environment}" for k in self.configure_flags]
        out += [f"warning: {w}" for w in self.warnings]
        return out


def _ordered(flags: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Parents before children (prerequisites); the validator rejects cycles."""
    by_key = {f["key"]: f for f in flags}
    done: set[str] = set()
    out: list[dict[str, Any]] = []

    def visit(key: str, depth: int = 0) -> None:
        if key in done or key not in by_key or depth > len(by_key):
            return
        for pre in by_key[key].get("prerequisites", []):
            visit(pre["flag"], depth + 1)
        done.add(key)
        out.append(by_key[key])

    for key in by_key:
        visit(key)
    return out


# progress(done, total): steps are segments, then each flag twice (its definition, then its
# configuration in the environment).
Progress = Callable[[int, int], None]
COMMENT = "imported from Unleash"


def import_steps(result: Any) -> int:
    return len(result.segments) + 2 * len(result.flags)


def variants_differ(flag: Flag, imported: dict[str, Any]) -> bool:
    """Whether an existing flag's variants (keys and values, in any order: a flag made by hand
    lists `on` first, the importer `off`) are not the imported ones."""

    def pairs(variants: list[dict[str, Any]]) -> list[tuple[Any, str]]:
        return sorted((v.get("key"), json.dumps(v.get("value"), sort_keys=True)) for v in variants)

    return pairs(flag.variants) != pairs(imported["variants"])


def unleash_import(
    *,
    data: dict[str, Any],
    environment: Environment,
    actor: Actor,
    dry_run: bool = False,
    comment: str = COMMENT,
    progress: Progress | None = None,
) -> ImportPlan:
    result = unleash_to_flagsite(data)
    plan = ImportPlan(warnings=list(result.warnings))
    existing_segments = set(Segment.objects.values_list("key", flat=True))
    existing_flags = set(Flag.objects.values_list("key", flat=True))
    for seg in result.segments:
        (plan.update_segments if seg["key"] in existing_segments else plan.create_segments).append(
            seg["key"]
        )
    for flag in result.flags:
        if flag["key"] not in existing_flags:
            plan.create_flags.append(flag["key"])
        plan.configure_flags.append(flag["key"])
    if dry_run:
        return plan
    # One transaction, validation reading the configuration once, one publish per environment.
    with changes_batch():
        _write(
            result,
            environment,
            actor,
            existing_segments,
            existing_flags,
            comment=comment,
            progress=progress or (lambda done, total: None),
        )
    return plan


def _write(
    result: Any,
    environment: Environment,
    actor: Actor,
    existing_segments: set[str],
    existing_flags: set[str],
    *,
    comment: str,
    progress: Progress,
) -> None:
    total, done = import_steps(result), 0
    segments = {s.key: s for s in Segment.objects.filter(key__in=existing_segments)}
    flags = {f.key: f for f in Flag.objects.filter(key__in=existing_flags)}
    for seg in result.segments:
        fields = {k: seg[k] for k in ("included", "excluded", "clauses", "percentage") if k in seg}
        if "bucket_by" in seg and isinstance(seg["bucket_by"], str):
            fields["bucket_by"] = seg["bucket_by"]
        if seg["key"] in existing_segments:
            current = segments[seg["key"]]
            # Unchanged segments are left alone (an editor may re-import what production uses).
            if any(getattr(current, name) != value for name, value in fields.items()):
                segment_update(segment=current, actor=actor, comment=comment, **fields)
        else:
            segment_create(
                key=seg["key"],
                name=seg.get("name") or seg["key"],
                actor=actor,
                comment=comment,
                **fields,
            )
        done += 1
        progress(done, total)
    for flag in result.flags:
        if flag["key"] in existing_flags:
            # A re-import after Unleash's variants changed: the configuration names them.
            if variants_differ(flags[flag["key"]], flag):
                flag_update(
                    flag=flags[flag["key"]],
                    actor=actor,
                    comment=comment,
                    variants=flag["variants"],
                )
        else:
            flags[flag["key"]] = flag_create(
                key=flag["key"],
                name=flag.get("name") or flag["key"],
                kind=flag["kind"],
                variants=flag["variants"],
                salt=flag.get("salt"),
                off_variant=flag["off_variant"],
                description=flag.get("description", ""),
                tags=["unleash"],
                actor=actor,
                comment=comment,
            )
        done += 1
        progress(done, total)
    for flag in _ordered(result.flags):
        flag_config_update(
            flag=flags[flag["key"]],
            environment=environment,
            actor=actor,
            comment=comment,
            **{k: flag[k] for k in ("enabled", "off_variant", "rules", "default", "prerequisites")},
        )
        done += 1
        progress(done, total)
