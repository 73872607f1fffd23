"""Unleash variants -> flagsite variants and splits (see importers/unleash.py).

Each Unleash variant becomes a flag variant whose value is what Unleash's getVariant returns for
it; weighted choices become splits in Unleash hash mode, so every user keeps their variant.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from .unleash_constraints import Warn, attribute_name, bucket_names

OFF, ON = "off", "on"
_KEY_RE = re.compile(r"[^a-zA-Z0-9_.-]")
UNLEASH_VARIANT_SEED = 86028157


class Variants:
    """The flag's variants, added as rules need them, with keys unique and valid."""

    def __init__(self, with_payloads: bool) -> None:
        self.with_payloads = with_payloads
        self.items: list[dict[str, Any]] = []
        self.names: dict[str, list[str]] = {}
        off = {"name": "disabled", "enabled": False, "feature_enabled": False}
        self.off = self._add(OFF, off if with_payloads else False, None)

    def on(self) -> str:
        on = {"name": "disabled", "enabled": False, "feature_enabled": True}
        return self._add(ON, on if self.with_payloads else True, "disabled")

    def unleash(self, variant: Mapping[str, Any]) -> str:
        name = str(variant.get("name"))
        value: dict[str, Any] = {"name": name, "enabled": True, "feature_enabled": True}
        if variant.get("payload") is not None:
            value["payload"] = variant["payload"]
        return self._add(name, value, name)

    def _add(self, wanted: str, value: Any, unleash_name: str | None) -> str:
        for item in self.items:
            if item["value"] == value:  # the same Unleash variant in two strategies
                return str(item["key"])
        # Keys are [a-zA-Z0-9_.-]{1,64} and unique; the Unleash name stays in the value.
        base = _KEY_RE.sub("-", wanted)[:60] or "variant"
        key, n = base, 1
        taken = {item["key"] for item in self.items}
        while key in taken:
            n += 1
            key = f"{base}-{n}"
        self.items.append({"key": key, "value": value})
        if unleash_name is not None:
            self.names.setdefault(unleash_name, []).append(key)
        return key


def weighted(variants: Any, warn: Warn) -> list[dict[str, Any]]:
    """Variants with their final integer weights, as Unleash's server computes them: fixed
    weights stay, the rest of 1000 is shared among the variable ones (when they carry none)."""
    items = [dict(v) for v in variants or [] if isinstance(v, Mapping) and v.get("name")]
    if not items:
        return []
    if any(not isinstance(v.get("weight"), int) for v in items):
        fixed = [v for v in items if v.get("weightType") == "fix"]
        variable = [v for v in items if v.get("weightType") != "fix"]
        rest = 1000 - sum(int(v.get("weight") or 0) for v in fixed)
        for i, v in enumerate(variable):
            v["weight"] = rest // len(variable) + (1 if i < rest % len(variable) else 0)
    if sum(v["weight"] for v in items) <= 0:
        warn("variants with a total weight of 0 are ignored, as in Unleash")
        return []
    return items


def _bucket_by(stickiness: Any) -> list[str]:
    # Unleash's "default" stickiness for variants: userId, then sessionId, then remoteAddress
    # (then random, which a deterministic engine cannot do: the first variant is served).
    if not stickiness or stickiness in ("default", "random"):
        return ["key", "userId", "sessionId", "remoteAddress"]
    return bucket_names(str(stickiness))


def serve(
    chosen: list[dict[str, Any]], group_id: str, stickiness: Any, variants: Variants
) -> dict[str, Any]:
    if not chosen:
        return {"variant": variants.on()}
    total = sum(v["weight"] for v in chosen)
    split, cumulative, previous = [], 0, 0
    for v in chosen:
        cumulative += v["weight"]
        # Cumulative weights rounded to thousandths of a percent: the engine turns them back
        # into Unleash's exact integer boundaries (docs/ruleset.md, Unleash hash mode).
        millis = (cumulative * 200_000 + total) // (2 * total)
        weight = millis - previous
        previous = millis
        split.append(
            {
                "variant": variants.unleash(v),
                "weight": weight // 1000 if weight % 1000 == 0 else weight / 1000,
            }
        )
    return {
        "split": split,
        "bucket_by": _bucket_by(stickiness),
        "hash": {
            "mode": "unleash",
            "group_id": group_id,
            "seed": UNLEASH_VARIANT_SEED,
            "total": total,
        },
    }


def override_rules(
    rule_id: str,
    label: str,
    clauses: list[dict[str, Any]],
    rollout: dict[str, Any] | None,
    chosen: list[dict[str, Any]],
    variants: Variants,
    ids: set[str],
) -> list[dict[str, Any]]:
    """Unleash checks overrides (in variant order) before the weighted choice, and only once
    the strategy has matched: so each override is the strategy's rule plus one clause."""
    rules = []
    for v in chosen:
        for override in v.get("overrides") or []:
            if not isinstance(override, Mapping) or not override.get("contextName"):
                continue
            values = [x for x in override.get("values") or [] if isinstance(x, str)]
            attribute = attribute_name(str(override["contextName"]))
            rule: dict[str, Any] = {
                "id": unique_id(f"{rule_id}-override", ids),
                "name": f"{label}: override {attribute} -> {v['name']}",
                "clauses": [*clauses, {"attribute": attribute, "op": "in", "values": values}],
            }
            if rollout is not None:
                rule["rollout"] = rollout
            rule["serve"] = {"variant": variants.unleash(v)}
            rules.append(rule)
    return rules


def unique_id(wanted: str, ids: set[str]) -> str:
    rule_id, n = wanted, 1
    while rule_id in ids:
        n += 1
        rule_id = f"{wanted}-{n}"
    ids.add(rule_id)
    return rule_id
