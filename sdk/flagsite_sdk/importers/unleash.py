"""Unleash -> flagsite: converts Unleash's client API features (`GET /api/client/features`:
`{"version": .., "features": [...], "segments": [...]}`) into ruleset flags and segments.

Pure: no Django, no I/O. `unleash_to_flagsite(data)` returns what an import would create (the
`manage.py import_unleash --dry-run` listing is this result printed); docs/engine.md describes
the mapping and docs/ruleset.md the Unleash hash mode that keeps every user's bucket.

Mapping, per feature:
- a flag keyed by the feature name, with an off variant (Unleash's "disabled") and either an
  `on` variant (kind boolean, when the feature has no variants anywhere) or one variant per
  Unleash variant (kind json; each value is what Unleash's getVariant returns for it);
- each strategy becomes a rule: its constraints, segments and strategy-specific clauses, its
  rollout as a gate in Unleash hash mode, serving its strategy variants, else the feature
  variants, else `on`; variant overrides become rules just before it;
- no strategy at all means on for everyone (Unleash's rule): the default serves;
- `dependencies` become prerequisites.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..engine.model import Evaluation
from .unleash_constraints import Warn, constraint_clause, never
from .unleash_strategies import strategy_clauses
from .unleash_variants import Variants, override_rules, serve, unique_id, weighted

STANDARD_FIELDS = ("userId", "sessionId", "remoteAddress", "environment", "appName")


@dataclass
class ImportResult:
    """What an import creates: flags in ruleset flag format (plus `name` and `description`,
    which the engine ignores), segments in ruleset segment format, and warnings for a person
    about anything that could not be carried over exactly."""

    flags: list[dict[str, Any]] = field(default_factory=list)
    segments: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def unleash_context(context: Mapping[str, Any]) -> dict[str, Any]:
    """An Unleash context as a flagsite context.

    `properties` become top-level attributes; the standard fields (userId, sessionId,
    remoteAddress, environment, appName) keep their names and win over a property of the same
    name, as in Unleash; currentTime becomes `now`; userId is also the targeting `key`.
    """
    out: dict[str, Any] = {}
    properties = context.get("properties")
    if isinstance(properties, Mapping):
        out.update((k, v) for k, v in properties.items() if v is not None)
    for name in STANDARD_FIELDS:
        if context.get(name) is not None:
            out[name] = context[name]
    if context.get("currentTime") is not None:
        out["now"] = context["currentTime"]
    if "userId" in out:
        out["key"] = out["userId"]
    return out


def unleash_variant(evaluation: Evaluation) -> dict[str, Any]:
    """What Unleash's getVariant returns, from the evaluation of an imported flag (a missing
    flag, an error or the off variant give Unleash's disabled variant)."""
    value = evaluation.value
    if isinstance(value, dict) and "name" in value:
        return dict(value)
    enabled = value is True
    return {"name": "disabled", "enabled": False, "feature_enabled": enabled}


def segment_key(segment_id: Any) -> str:
    return f"unleash-segment-{segment_id}"


def unleash_to_flagsite(data: Mapping[str, Any]) -> ImportResult:
    """Convert an Unleash client API document. Never raises on odd input: what cannot be
    converted is left out with a warning."""
    result = ImportResult()
    features = data.get("features") if isinstance(data, Mapping) else None
    if not isinstance(features, list):
        result.warnings.append("the document has no 'features' list")
        return result
    segments = data.get("segments") or []
    for segment in segments if isinstance(segments, list) else []:
        try:
            converted = _segment(segment, result.warnings)
        except Exception as exc:
            result.warnings.append(f"skipped a segment ({type(exc).__name__}: {exc})")
            continue
        if converted is not None:
            result.segments.append(converted)
    known_segments = {s["key"] for s in result.segments}
    built: dict[str, _Built] = {}
    for feature in features:
        if not isinstance(feature, Mapping) or not isinstance(feature.get("name"), str):
            result.warnings.append("skipped a feature without a name")
            continue
        name = feature["name"]
        if name in built:
            result.warnings.append(f"{name}: a second feature with this name was skipped")
            continue

        def warn(message: str, name: str = name) -> None:
            result.warnings.append(f"{name}: {message}")

        try:
            built[name] = _feature(feature, known_segments, warn)
        except Exception as exc:  # malformed beyond what the converters check: skip it alone
            warn(f"skipped, it could not be converted ({type(exc).__name__}: {exc})")
    for name, item in built.items():

        def warn_dependency(message: str, name: str = name) -> None:
            result.warnings.append(f"{name}: {message}")

        _dependencies(item, built, warn_dependency)
        result.flags.append(item.flag)
    return result


def _segment(segment: Any, warnings: list[str]) -> dict[str, Any] | None:
    if not isinstance(segment, Mapping) or segment.get("id") is None:
        warnings.append("skipped a segment without an id")
        return None
    key = segment_key(segment["id"])

    def warn(message: str) -> None:
        warnings.append(f"segment {segment['id']}: {message}")

    constraints = segment.get("constraints") or []
    clauses = [c for c in (constraint_clause(x, warn) for x in constraints) if c is not None]
    if not clauses:
        # Unleash: a segment without constraints holds everyone. `not_in []` matches every
        # context, where a flagsite segment without clauses would hold only its key lists.
        clauses = [{"attribute": "key", "op": "not_in", "values": []}]
    return {
        "key": key,
        "name": str(segment.get("name") or key),
        "description": str(segment.get("description") or ""),
        "included": [],
        "excluded": [],
        "clauses": clauses,
        "percentage": None,
        "bucket_by": "key",
    }


@dataclass
class _Built:
    flag: dict[str, Any]
    dependencies: list[Any]
    # Unleash variant name -> the flag's variant keys serving it ("disabled" -> on).
    names: dict[str, list[str]]


def _has_variants(feature: Mapping[str, Any]) -> bool:
    if feature.get("variants"):
        return True
    strategies = feature.get("strategies") or []
    return any(isinstance(s, Mapping) and s.get("variants") for s in strategies)


def _feature(feature: Mapping[str, Any], segments: set[str], warn: Warn) -> _Built:
    name = feature["name"]
    variants = Variants(with_payloads=_has_variants(feature))
    feature_variants = weighted(feature.get("variants"), warn)
    strategies = [s for s in feature.get("strategies") or [] if isinstance(s, Mapping)]
    active = [s for s in strategies if s.get("disabled") is not True]
    rules: list[dict[str, Any]] = []
    ids: set[str] = set()
    for index, strategy in enumerate(active):
        converted = strategy_clauses(strategy, name, warn)
        if converted is None:
            continue
        clauses, rollout = converted
        constraints = strategy.get("constraints") or []
        segment_ids = strategy.get("segments") or []
        if not isinstance(constraints, list) or not isinstance(segment_ids, list):
            warn(f"strategy {index + 1}: constraints and segments must be lists; never matches")
            constraints, segment_ids = [None], []
        for constraint in constraints:
            clause = constraint_clause(constraint, warn)
            if clause is not None:
                clauses.append(clause)
        for segment_id in segment_ids:
            key = segment_key(segment_id)
            if key not in segments:
                warn(f"strategy {index + 1} uses unknown segment {segment_id}: never matches")
                clauses.append(never("key"))
            else:
                clauses.append({"op": "segment", "values": [key]})
        rule_id = unique_id(str(strategy.get("id") or f"strategy-{index + 1}"), ids)
        own = weighted(strategy.get("variants"), warn)
        params = strategy.get("parameters") or {}
        if own:
            group_id = str(params.get("groupId") or name)
            stickiness = params.get("stickiness") or own[0].get("stickiness")
            chosen, stick = own, stickiness
        else:
            group_id, chosen = name, feature_variants
            stick = feature_variants[0].get("stickiness") if feature_variants else None
        label = str(strategy.get("title") or strategy.get("name"))
        rules += override_rules(rule_id, label, clauses, rollout, chosen, variants, ids)
        rule: dict[str, Any] = {"id": rule_id, "name": label, "clauses": clauses}
        if rollout is not None:
            rule["rollout"] = rollout
        rule["serve"] = serve(chosen, group_id, stick, variants)
        rules.append(rule)
    if strategies:
        default: dict[str, Any] = {"variant": variants.off}
    else:
        # Unleash: a feature without strategies is on for everyone.
        stick = feature_variants[0].get("stickiness") if feature_variants else None
        rules += override_rules("all", "everyone", [], None, feature_variants, variants, ids)
        default = serve(feature_variants, name, stick, variants)
    flag = {
        "key": name,
        "name": name,
        "description": str(feature.get("description") or ""),
        "kind": "json" if variants.with_payloads else "boolean",
        "salt": name,
        "variants": variants.items,
        "enabled": feature.get("enabled") is True,
        "off_variant": variants.off,
        "prerequisites": [],
        "rules": rules,
        "default": default,
    }
    dependencies = feature.get("dependencies") or []
    return _Built(flag, dependencies if isinstance(dependencies, list) else [], variants.names)


def _dependencies(item: _Built, built: Mapping[str, _Built], warn: Warn) -> None:
    """Unleash dependencies -> prerequisites. Unleash evaluates one level only: a parent that
    has dependencies of its own, or does not exist, is never satisfied, and neither is a
    variant the parent cannot serve; such a flag is imported disabled (it is always off)."""
    prerequisites = item.flag["prerequisites"]
    for dependency in item.dependencies:
        parent_name = dependency.get("feature") if isinstance(dependency, Mapping) else None
        parent = built.get(parent_name) if isinstance(parent_name, str) else None
        reason = None
        if parent is None:
            reason = f"depends on {parent_name!r}, which is not in the import"
        elif parent.dependencies or parent is item:
            reason = f"depends on {parent_name!r}, which has dependencies itself"
        else:
            wanted = _wanted_variants(dependency, parent)
            if wanted:
                prerequisites.append({"flag": parent_name, "variants": wanted})
            else:
                reason = f"depends on variants {dependency.get('variants')} {parent_name!r} lacks"
        if reason is not None:
            warn(f"{reason}; Unleash never enables it, so it is imported disabled")
            item.flag["enabled"] = False


def _wanted_variants(dependency: Mapping[str, Any], parent: _Built) -> list[str]:
    off = parent.flag["off_variant"]
    keys = [v["key"] for v in parent.flag["variants"]]
    if dependency.get("enabled") is False:
        return [off]
    names = dependency.get("variants")
    if not names:
        return [k for k in keys if k != off]
    return sorted({k for n in names for k in parent.names.get(str(n), [])}, key=keys.index)


def dumps(result: ImportResult) -> str:
    """The result as JSON, for a dry-run listing."""
    return json.dumps(
        {"flags": result.flags, "segments": result.segments, "warnings": result.warnings},
        indent=2,
        ensure_ascii=False,
    )
