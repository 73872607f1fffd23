"""Unleash's built-in activation strategies -> clauses and a rollout gate.

A rollout gate carries Unleash's own hash (`"hash": {"mode": "unleash", ...}`), so a user in an
Unleash rollout is in the imported one and vice versa.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from ..engine.literals import parse_network
from .unleash_constraints import Clause, Warn, bucket_names, never

# Unleash's "default" stickiness for rollouts: userId, then sessionId, then a random number,
# which no deterministic engine can reproduce; contexts with neither are not admitted (except
# at 100 %, where the gate is left out, so everyone is).
DEFAULT_ROLLOUT_STICKINESS = ["key", "userId", "sessionId"]


def _ids(value: Any) -> list[str]:
    return [v.strip() for v in str(value or "").split(",") if v.strip()]


def _percentage(value: Any) -> int | None:
    """Unleash admits normalized (an integer 1..100) <= percentage, so only the integer part of
    a percentage matters; None when it is not a number (Unleash then admits nobody)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    if math.isnan(number):
        return None
    return max(0, min(100, math.floor(number)))


def _gate(percentage: int, bucket_by: list[str], group_id: str) -> dict[str, Any]:
    return {
        "percentage": percentage,
        "bucket_by": bucket_by,
        "hash": {"mode": "unleash", "group_id": group_id, "seed": 0, "total": 100},
    }


def strategy_clauses(
    strategy: Mapping[str, Any], feature_name: str, warn: Warn
) -> tuple[list[Clause], dict[str, Any] | None] | None:
    """(clauses, rollout) for one strategy, or None for a strategy that cannot be evaluated
    (a custom strategy: Unleash's SDKs treat an unknown strategy as disabled)."""
    name = strategy.get("name")
    params = strategy.get("parameters") or {}
    if not isinstance(params, Mapping):
        params = {}
    if name == "default":
        return [], None
    if name == "userWithId":
        return [{"attribute": "key", "op": "in", "values": _ids(params.get("userIds"))}], None
    if name == "remoteAddress":
        addresses = _ids(params.get("IPs"))
        valid = [a for a in addresses if parse_network(a) is not None]
        if len(valid) < len(addresses):
            warn(f"remoteAddress: ignoring invalid addresses {sorted(set(addresses) - set(valid))}")
        if not valid:
            return [never("remoteAddress")], None
        return [{"attribute": "remoteAddress", "op": "cidr", "values": valid}], None
    if name == "applicationHostname":
        # Unleash compares the SDK machine's hostname; in flagsite it is a context attribute.
        hosts = [h.lower() for h in _ids(params.get("hostNames"))]
        clause = {"attribute": "hostname", "op": "in", "values": hosts, "case_insensitive": True}
        return [clause], None
    if name in ("gradualRolloutUserId", "gradualRolloutSessionId"):
        by = bucket_names("userId" if name == "gradualRolloutUserId" else "sessionId")
        return [], _rollout(params.get("percentage"), by, str(params.get("groupId") or ""))
    if name == "gradualRolloutRandom":
        return [], _random_rollout(params.get("percentage"), feature_name, warn)
    if name == "flexibleRollout":
        group_id = str(params.get("groupId") or feature_name)
        stickiness = params.get("stickiness") or "default"
        if stickiness == "random":
            return [], _random_rollout(params.get("rollout"), group_id, warn)
        if stickiness == "default":
            percentage = _percentage(params.get("rollout"))
            if percentage == 100:
                return [], None  # admits everyone, even without userId/sessionId
            return [], _rollout(params.get("rollout"), DEFAULT_ROLLOUT_STICKINESS, group_id)
        by = bucket_names(str(stickiness))
        return [], _rollout(params.get("rollout"), by, group_id)
    warn(f"strategy {name!r} is not a built-in Unleash strategy and was left out")
    return None


def _rollout(value: Any, bucket_by: list[str], group_id: str) -> dict[str, Any]:
    percentage = _percentage(value)
    return _gate(0 if percentage is None else percentage, bucket_by, group_id)


def _random_rollout(value: Any, group_id: str, warn: Warn) -> dict[str, Any] | None:
    percentage = _percentage(value)
    if percentage == 100:
        return None
    if percentage:
        warn(
            f"a random {percentage}% rollout is imported as a sticky rollout by userId, then "
            "sessionId (flagsite bucketing is deterministic)"
        )
    return _gate(percentage or 0, DEFAULT_ROLLOUT_STICKINESS, group_id)
