"""Blue-green: a flag with two variants (two model deployments, two prompt versions) moves all of
its default traffic from the live one to the other in one configuration version, and back.

Optionally guarded: the switch opens a one-phase rollout plan (template `blue_green`) watched
by the same health gates for `guard_seconds`; a breach switches back by itself (actor
"automatic rollback"), a quiet window completes the plan. The switch owns only the default it
set: a switch back leaves the configuration alone if someone changed the default meanwhile.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import transaction

from flags.changes import Actor, flag_config_update
from flags.models import AuditEvent, Environment, Flag, FlagConfig
from flags.validation import ConfigError
from flagsite import clock

from .models import Gate, Phase, PlanStatus, RolloutPlan
from .templates_builtin import DEFAULT_GATES, GateSpec

SWITCH_ACTIONS = ("flag.bluegreen_switched", "flag.rollout_rolled_back_bluegreen")


@dataclass(frozen=True)
class BlueGreenState:
    live: str | None
    other: str | None
    since: datetime | None
    switches: list[AuditEvent]
    guard: RolloutPlan | None


def _default_variant(config: FlagConfig) -> str | None:
    variant = config.default.get("variant") if isinstance(config.default, dict) else None
    return variant if isinstance(variant, str) else None


def bluegreen_state(flag: Flag, environment: Environment) -> BlueGreenState:
    config = FlagConfig.objects.get(flag=flag, environment=environment)
    live = _default_variant(config)
    others = [k for k in flag.variant_keys if k != live]
    switches = list(
        AuditEvent.objects.filter(
            object_key=flag.key, environment=environment, action__in=SWITCH_ACTIONS
        ).order_by("-id")[:5]
    )
    guard = RolloutPlan.objects.filter(
        flag=flag, environment=environment, template="blue_green", status=PlanStatus.RUNNING
    ).first()
    return BlueGreenState(
        live=live,
        other=others[0] if len(others) == 1 else None,
        since=switches[0].created_at if switches else None,
        switches=switches,
        guard=guard,
    )


@transaction.atomic
def bluegreen_switch(
    *,
    flag: Flag,
    environment: Environment,
    to: str,
    actor: Actor,
    comment: str = "",
    guard_seconds: int | None = None,
    gates: Iterable[GateSpec] | None = None,
) -> RolloutPlan | None:
    """Serve `to` as the default in one version. Returns the guard plan when guarded."""
    from .plans import _event, _refuse_if_busy

    if len(flag.variants) != 2 or to not in flag.variant_keys:
        raise ConfigError([("to", f"Blue-green needs a flag with two variants, {to!r} one.")])
    config = FlagConfig.objects.get(flag=flag, environment=environment)
    live = _default_variant(config)
    if live == to:
        raise ConfigError([("to", f"{to} is already live.")])
    probe = RolloutPlan(flag=flag, environment=environment)
    _refuse_if_busy(probe)
    flag_config_update(
        flag=flag,
        environment=environment,
        actor=actor,
        comment=comment or f"blue-green: {to} is live",
        action="flag.bluegreen_switched",
        default={"variant": to},
    )
    if not guard_seconds:
        return None
    now = clock.now()
    plan = RolloutPlan.objects.create(
        flag=flag,
        environment=environment,
        name=f"blue-green guard of {to}",
        template="blue_green",
        variant=to,
        replaces=live or "",
        status=PlanStatus.RUNNING,
        current_phase=0,
        phase_started_at=now,
        started_at=now,
        created_by=actor.user,
    )
    Phase.objects.create(
        plan=plan,
        position=0,
        name="guard window",
        percentage=Decimal(100),
        min_duration_seconds=guard_seconds,
    )
    specs = list(gates) if gates is not None else list(DEFAULT_GATES)
    Gate.objects.bulk_create(Gate(plan=plan, **g.as_fields()) for g in specs)
    _event(plan, "started", actor, comment, switched_to=to)
    return plan


def switch_back_changes(plan: RolloutPlan) -> dict[str, Any] | None:
    """What a guarded switch's rollback writes: the old default, if the switch's default is
    still in place (else nothing: a person changed it meanwhile, and that stays)."""
    config = FlagConfig.objects.get(flag=plan.flag, environment=plan.environment)
    if _default_variant(config) != plan.variant or not plan.replaces:
        return None
    return {"default": {"variant": plan.replaces}}
