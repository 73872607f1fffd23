"""Every change to a rollout plan: create, start, advance, pause, resume, roll back, cancel.

People (UI, API) and the job (`releases.checks`) call these same functions. Each one that changes
what the flag serves writes a new flag configuration version and its audit row through
`flags.changes.flag_config_update` (actor: the person, or "rollout plan" / "automatic rollback"),
plus a PlanEvent for the plan's timeline. A step claims the plan's `revision` it read, so two
workers (or a person and the job) can never both apply it.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import datetime
from typing import Any

from django.apps import apps
from django.db import transaction

from flags import policy
from flags.changes import Actor, audit_record, flag_config_update, flag_update
from flags.models import Environment, Flag, FlagConfig
from flags.validation import ConfigError
from flagsite import clock

from .models import ACTIVE_STATUSES, Gate, Phase, PlanEvent, PlanStatus, RolloutPlan
from .rules import owned_rules, with_owned, without_owned
from .templates_builtin import DEFAULT_GATES, GateSpec, PhaseSpec, template_phases
from .validation import plan_validate

ROLLOUT_PLAN = Actor(label="rollout plan")
AUTOMATIC_ROLLBACK = Actor(label="automatic rollback")
READY_TO_REMOVE_TAG = "ready-to-remove"
EXPERIMENT_MODEL: str = "experiments.Experiment"


class PlanConflict(Exception):
    """The plan changed under us (another worker or person moved it first)."""


# --- creating ------------------------------------------------------------------------------


def plan_create(
    *,
    flag: Flag,
    environment: Environment,
    variant: str,
    replaces: str,
    actor: Actor,
    template: str = "canary",
    phases: Iterable[PhaseSpec] | None = None,
    gates: Iterable[GateSpec] | None = None,
    name: str = "",
) -> RolloutPlan:
    """A draft plan (serves nothing until started). `phases` default to the template's."""
    policy.authorize(actor.user, production=environment.is_production, what="plan rollouts")
    phase_specs = list(phases) if phases is not None else list(template_phases(template))
    gate_specs = list(gates) if gates is not None else list(DEFAULT_GATES)
    plan_validate(flag, variant, replaces, phase_specs, gate_specs)
    with transaction.atomic():
        plan = RolloutPlan.objects.create(
            flag=flag,
            environment=environment,
            name=name or f"{template or 'custom'} of {variant}",
            template=template,
            variant=variant,
            replaces=replaces,
            created_by=actor.user,
        )
        _steps_write(plan, phase_specs, gate_specs)
        _event(plan, "created", actor, "")
    return plan


def _steps_write(plan: RolloutPlan, phases: list[PhaseSpec], gates: list[GateSpec]) -> None:
    Phase.objects.bulk_create(
        Phase(plan=plan, position=i, **spec.as_fields()) for i, spec in enumerate(phases)
    )
    Gate.objects.bulk_create(Gate(plan=plan, **spec.as_fields()) for spec in gates)


def _audit(plan: RolloutPlan, actor: Actor, kind: str, summary: str, comment: str) -> None:
    """An audit row for a change that serves nothing new (no flag version)."""
    audit_record(
        actor=actor,
        action=f"flag.rollout_{kind}",
        object_type="flag",
        object_key=plan.flag.key,
        environment=plan.environment,
        summary=summary,
        comment=comment,
    )


# --- steps ---------------------------------------------------------------------------------


def _event(plan: RolloutPlan, kind: str, actor: Actor, comment: str, **details: Any) -> PlanEvent:
    return PlanEvent.objects.create(
        plan=plan,
        at=clock.now(),
        kind=kind,
        actor_label=actor.display,
        comment=comment,
        details=details,
    )


def _claim(plan: RolloutPlan, **fields: Any) -> None:
    """Write `fields` if the plan is still at the revision we read; else PlanConflict."""
    updated = RolloutPlan.objects.filter(pk=plan.pk, revision=plan.revision).update(
        revision=plan.revision + 1, **fields
    )
    if updated != 1:
        raise PlanConflict(f"rollout #{plan.pk} changed meanwhile")
    plan.revision += 1
    for name, value in fields.items():
        setattr(plan, name, value)


def _require(actor: Actor, plan: RolloutPlan, comment: str, what: str) -> None:
    """People follow the production comment rule; the job always writes its own comment."""
    production = plan.environment.is_production
    policy.authorize(actor.user, production=production, what=what)
    if actor.user is not None:
        policy.require_comment(comment, production=production, what=what)


def plan_locked(plan_id: int, *, skip_locked: bool = False) -> RolloutPlan | None:
    """The plan, row-locked for this transaction (None if another transaction holds it and
    `skip_locked`). Call inside transaction.atomic()."""
    rows = RolloutPlan.objects.select_for_update(skip_locked=skip_locked).select_related(
        "flag", "environment"
    )
    return rows.filter(pk=plan_id).first()


def _locked_in(plan: RolloutPlan, statuses: Collection[str], refusal: str) -> RolloutPlan:
    """The plan row-locked, if it is still in one of `statuses` (else ConfigError `refusal`,
    which may name its `{status}`) and at the revision the caller read (else PlanConflict)."""
    locked = plan_locked(plan.pk)
    assert locked is not None
    if locked.status not in statuses:
        raise ConfigError([("status", refusal.format(status=locked.status))])
    if plan.revision != locked.revision:
        raise PlanConflict(f"rollout #{plan.pk} changed meanwhile")
    return locked


def _config_set_rules(
    plan: RolloutPlan, rules: list[dict[str, Any]], *, actor: Actor, comment: str, action: str
) -> None:
    flag_config_update(
        flag=plan.flag,
        environment=plan.environment,
        actor=actor,
        comment=comment,
        action=action,
        rules=rules,
    )


def _current_rules(plan: RolloutPlan) -> list[dict[str, Any]]:
    config = FlagConfig.objects.get(flag=plan.flag, environment=plan.environment)
    return list(config.rules)


def _serve_phase(plan: RolloutPlan, index: int, *, actor: Actor, comment: str, action: str) -> None:
    phases = plan.phase_list()
    owned = owned_rules(prefix=plan.rule_prefix, variant=plan.variant, phases=phases, index=index)
    rules = with_owned(_current_rules(plan), plan.rule_prefix, owned)
    _config_set_rules(plan, rules, actor=actor, comment=comment, action=action)


def active_plan_for(flag: Flag, environment: Environment) -> RolloutPlan | None:
    return RolloutPlan.objects.filter(
        flag=flag, environment=environment, status__in=ACTIVE_STATUSES
    ).first()


def _refuse_if_busy(plan: RolloutPlan) -> None:
    other = active_plan_for(plan.flag, plan.environment)
    if other is not None and other.pk != plan.pk:
        raise ConfigError(
            [("status", f"{plan.flag.key} already runs rollout #{other.pk} in this environment.")]
        )
    try:
        # Looked up by name: the Experiment model lands with the experiments issue.
        experiment_model = apps.get_model(EXPERIMENT_MODEL)
    except LookupError:
        return
    running = experiment_model.objects.filter(
        flag=plan.flag, environment=plan.environment, status="running"
    ).first()
    if running is not None:
        raise ConfigError(
            [
                (
                    "status",
                    f"{plan.flag.key} runs the experiment {running} in "
                    f"{plan.environment.key}: stop it before starting a rollout.",
                )
            ]
        )


@transaction.atomic
def plan_start(*, plan: RolloutPlan, actor: Actor, comment: str = "") -> RolloutPlan:
    _require(actor, plan, comment, "start this rollout")
    locked = plan_locked(plan.pk)
    assert locked is not None
    if locked.status != PlanStatus.DRAFT:
        raise ConfigError([("status", f"Only a draft starts; this plan is {locked.status}.")])
    _refuse_if_busy(locked)
    now = clock.now()
    first = locked.phase_list()[0]
    note = comment or f"rollout #{locked.pk} started: {first.audience}"
    _serve_phase(locked, 0, actor=actor, comment=note, action="flag.rollout_started")
    _claim(locked, status=PlanStatus.RUNNING, current_phase=0, phase_started_at=now, started_at=now)
    _event(locked, "started", actor, comment, phase=0)
    return locked


@transaction.atomic
def plan_advance(*, plan: RolloutPlan, actor: Actor, comment: str = "") -> RolloutPlan:
    """The next phase now (a person's "advance now", or the job when a healthy phase's time is
    up). Past the last phase the plan completes."""
    _require(actor, plan, comment, "advance this rollout")
    locked = _locked_in(plan, ACTIVE_STATUSES, "This plan is {status}.")
    phases = locked.phase_list()
    nxt = locked.current_phase + 1
    if nxt >= len(phases) or phases[nxt].completes:
        return _complete(locked, actor=actor, comment=comment, ready_to_remove=nxt < len(phases))
    note = comment or f"rollout #{locked.pk}: phase {nxt + 1}, {phases[nxt].audience}"
    _serve_phase(locked, nxt, actor=actor, comment=note, action="flag.rollout_advanced")
    _claim(locked, current_phase=nxt, phase_started_at=clock.now())
    _event(locked, "advanced", actor, comment, phase=nxt)
    return locked


def _complete(
    plan: RolloutPlan, *, actor: Actor, comment: str, ready_to_remove: bool
) -> RolloutPlan:
    """The new variant becomes the configuration's default and the plan's rules go; with a
    "complete" step the flag is also tagged ready to remove from code."""
    note = comment or f"rollout #{plan.pk} complete: {plan.variant} is the default"
    if plan.template == "blue_green":  # the switch already made it the default
        _claim(plan, status=PlanStatus.COMPLETED, ended_at=clock.now(), end_reason=note)
        _event(plan, "completed", actor, comment)
        return plan
    flag_config_update(
        flag=plan.flag,
        environment=plan.environment,
        actor=actor,
        comment=note,
        action="flag.rollout_completed",
        rules=without_owned(_current_rules(plan), plan.rule_prefix),
        default={"variant": plan.variant},
    )
    if ready_to_remove and READY_TO_REMOVE_TAG not in plan.flag.tags:
        flag_update(
            flag=plan.flag, actor=actor, comment=note, tags=[*plan.flag.tags, READY_TO_REMOVE_TAG]
        )
    _claim(plan, status=PlanStatus.COMPLETED, ended_at=clock.now(), end_reason=note)
    _event(plan, "completed", actor, comment)
    return plan


@transaction.atomic
def plan_rollback(
    *,
    plan: RolloutPlan,
    actor: Actor,
    comment: str = "",
    details: dict[str, Any] | None = None,
) -> RolloutPlan:
    """Take back exactly what the plan changed: its rules. Edits made meanwhile stay."""
    _require(actor, plan, comment, "roll back this rollout")
    locked = _locked_in(plan, ACTIVE_STATUSES, "This plan is {status}.")
    note = comment or f"rollout #{locked.pk} rolled back"
    if locked.template == "blue_green":
        from .bluegreen import switch_back_changes

        back = switch_back_changes(locked)
        if back is not None:
            flag_config_update(
                flag=locked.flag,
                environment=locked.environment,
                actor=actor,
                comment=note,
                action="flag.rollout_rolled_back_bluegreen",
                **back,
            )
    else:
        _config_set_rules(
            locked,
            without_owned(_current_rules(locked), locked.rule_prefix),
            actor=actor,
            comment=note,
            action="flag.rollout_rolled_back",
        )
    _claim(locked, status=PlanStatus.ROLLED_BACK, ended_at=clock.now(), end_reason=note)
    _event(locked, "rolled_back", actor, comment, **(details or {}))
    return locked


def _hold(plan: RolloutPlan, *, actor: Actor, comment: str, kind: str) -> RolloutPlan:
    """Pause or resume: what the flag serves does not change, so an audit row and no version.
    Time spent paused does not count towards the phase's minimum duration."""
    production = plan.environment.is_production
    policy.authorize(actor.user, production=production, what=f"{kind} rollouts")
    policy.require_comment(comment, production=production, what=f"{kind} this rollout")
    locked = plan_locked(plan.pk)
    assert locked is not None
    now = clock.now()
    if kind == "pause":
        if locked.status != PlanStatus.RUNNING:
            raise ConfigError([("status", f"Only a running plan pauses; it is {locked.status}.")])
        _claim(locked, status=PlanStatus.PAUSED, paused_at=now)
    else:
        if locked.status != PlanStatus.PAUSED:
            raise ConfigError([("status", f"Only a paused plan resumes; it is {locked.status}.")])
        started: datetime = locked.phase_started_at or now
        held = now - (locked.paused_at or now)
        _claim(locked, status=PlanStatus.RUNNING, paused_at=None, phase_started_at=started + held)
    summary = f"{kind}d rollout #{locked.pk} of {locked.flag.key} in {locked.environment.key}"
    _audit(locked, actor, f"{kind}d", summary, comment)
    _event(locked, f"{kind}d", actor, comment)
    return locked


@transaction.atomic
def plan_pause(*, plan: RolloutPlan, actor: Actor, comment: str = "") -> RolloutPlan:
    return _hold(plan, actor=actor, comment=comment, kind="pause")


@transaction.atomic
def plan_resume(*, plan: RolloutPlan, actor: Actor, comment: str = "") -> RolloutPlan:
    return _hold(plan, actor=actor, comment=comment, kind="resume")


@transaction.atomic
def plan_cancel(*, plan: RolloutPlan, actor: Actor, comment: str = "") -> RolloutPlan:
    """Drop a draft (a started plan is rolled back or completed instead)."""
    policy.authorize(actor.user, production=plan.environment.is_production, what="plan rollouts")
    locked = plan_locked(plan.pk)
    assert locked is not None
    if locked.status != PlanStatus.DRAFT:
        raise ConfigError([("status", "Only a draft is cancelled; roll back a started plan.")])
    _claim(locked, status=PlanStatus.CANCELLED, ended_at=clock.now(), end_reason=comment)
    _event(locked, "cancelled", actor, comment)
    return locked
