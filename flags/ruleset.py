"""The mapper at the Django/engine boundary: models -> ruleset JSON (docs/ruleset.md).

Everything the engine and the SDKs see passes through here, so this is the one place that knows
both the model fields and the ruleset format.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

from .models import Environment, Flag, FlagConfig, Lifecycle, Segment

RULESET_SCHEMA = 1
# The id prefix of the rules a rollout plan owns in a configuration (`rollout-<plan>-...`,
# releases.models.RolloutPlan.rule_prefix). While a ruleset holds any, it carries
# `poll_interval` (FLAGSITE_ROLLOUT_POLL_SECONDS): SDKs poll faster until the plan ends.
ROLLOUT_RULE_PREFIX = "rollout-"


def flag_data(flag: Flag, config: FlagConfig | None) -> dict[str, Any]:
    """One flag in ruleset format. Without a config the flag is off (served its first variant)."""
    data: dict[str, Any] = {
        "key": flag.key,
        "kind": flag.kind,
        "salt": flag.salt,
        "variants": [{"key": v["key"], "value": v.get("value")} for v in flag.variants],
    }
    if config is None:
        off = flag.variants[0]["key"] if flag.variants else ""
        data |= {
            "version": 0,
            "enabled": False,
            "off_variant": off,
            "prerequisites": [],
            "rules": [],
            "default": {"variant": off},
        }
    else:
        data |= {"version": config.version, **config.as_data()}
    return data


def segment_data(segment: Segment) -> dict[str, Any]:
    return {
        "key": segment.key,
        "included": list(segment.included),
        "excluded": list(segment.excluded),
        "clauses": list(segment.clauses),
        "percentage": segment.percentage,
        "bucket_by": segment.bucket_by,
    }


def ruleset_build(environment: Environment) -> dict[str, Any]:
    """The environment's full ruleset, read from the database (archived flags are left out)."""
    configs = {
        c.flag_id: c
        for c in FlagConfig.objects.filter(environment=environment).exclude(
            flag__lifecycle=Lifecycle.ARCHIVED
        )
    }
    flags = Flag.objects.exclude(lifecycle=Lifecycle.ARCHIVED).order_by("key")
    data: dict[str, Any] = {
        "schema": RULESET_SCHEMA,
        "environment": environment.key,
        "version": environment.ruleset_version,
        "flags": {f.key: flag_data(f, configs.get(f.id)) for f in flags},
        "segments": {s.key: segment_data(s) for s in Segment.objects.order_by("key")},
    }
    hint = int(settings.FLAGSITE_ROLLOUT_POLL_SECONDS)
    if hint and _under_rollout(data["flags"]):
        data["poll_interval"] = hint
    return data


def _under_rollout(flags: dict[str, Any]) -> bool:
    return any(
        str(rule.get("id", "")).startswith(ROLLOUT_RULE_PREFIX)
        for flag in flags.values()
        for rule in flag.get("rules") or []
    )
