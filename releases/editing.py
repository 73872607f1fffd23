"""Editing a plan after it is made: a draft's phases and gates, a started plan's gate
thresholds (docs/rollouts.md, "On the page"). Both run `validation.plan_validate` as creating
does, and claim the plan's revision the editor read."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import transaction

from flags import policy
from flags.changes import Actor
from flags.validation import ConfigError

from .models import ACTIVE_STATUSES, PlanStatus, RolloutPlan
from .plans import _audit, _claim, _event, _locked_in, _require, _steps_write
from .templates_builtin import GateSpec, PhaseSpec
from .validation import plan_validate

TUNABLE = ("threshold", "window_seconds", "min_sample", "compare_with_control")


@transaction.atomic
def plan_draft_update(
    *,
    plan: RolloutPlan,
    actor: Actor,
    phases: Iterable[PhaseSpec],
    gates: Iterable[GateSpec],
    name: str = "",
    comment: str = "",
) -> RolloutPlan:
    """Replace a draft's phases and gates (and its name, if given). A draft serves nothing, so
    no flag version: an audit row and a plan event. `plan.revision` is the one the editor read:
    a draft changed meanwhile (edited, started) refuses with PlanConflict."""
    _require(actor, plan, comment, "edit this rollout")
    locked = _locked_in(plan, [PlanStatus.DRAFT], "Only a draft is edited; this plan is {status}.")
    phase_specs, gate_specs = list(phases), list(gates)
    plan_validate(locked.flag, locked.variant, locked.replaces, phase_specs, gate_specs)
    locked.phases.all().delete()
    locked.gates.all().delete()
    _steps_write(locked, phase_specs, gate_specs)
    _claim(locked, name=name.strip() or locked.name)
    counts = f"{len(phase_specs)} phases, {len(gate_specs)} gates"
    _audit(locked, actor, "edited", f"edited draft rollout #{locked.pk}: {counts}", comment)
    _event(locked, "edited", actor, comment, phases=len(phase_specs), gates=len(gate_specs))
    return locked


def _phase_specs(plan: RolloutPlan) -> list[PhaseSpec]:
    return [
        PhaseSpec(
            name=p.name,
            percentage=p.percentage,
            segments=tuple(p.segments),
            min_duration_seconds=p.min_duration_seconds,
            completes=p.completes,
        )
        for p in plan.phase_list()
    ]


@transaction.atomic
def plan_gates_update(
    *, plan: RolloutPlan, actor: Actor, gates: Iterable[GateSpec], comment: str = ""
) -> RolloutPlan:
    """A started (running or paused) plan's gates re-tuned: threshold, window, minimum sample,
    compare with control. The metrics stay (the same gates, in order: their readings and trend
    stay theirs); phases do not change. A comment is needed in every environment; an audit row
    and a plan event record each gate before and after. Nothing served changes."""
    production = plan.environment.is_production
    policy.authorize(actor.user, production=production, what="change this rollout's gates")
    if actor.user is not None and not comment.strip():
        raise ConfigError([("comment", "Changing a started plan's gates needs a comment.")])
    locked = _locked_in(plan, ACTIVE_STATUSES, "This plan is {status}: its gates are final.")
    specs, current = list(gates), list(locked.gates.all())
    if [g.metric for g in specs] != [g.metric for g in current]:
        raise ConfigError(
            [
                (
                    "gates",
                    "A started plan keeps its gates' metrics: change thresholds, windows "
                    "and samples, or make a new plan.",
                )
            ]
        )
    plan_validate(locked.flag, locked.variant, locked.replaces, _phase_specs(locked), specs)
    changed: list[dict[str, Any]] = []
    for gate, spec in zip(current, specs, strict=True):
        before = {f: getattr(gate, f) for f in TUNABLE}
        after = {f: spec.as_fields()[f] for f in TUNABLE}
        if before != after:
            for name, value in after.items():
                setattr(gate, name, value)
            gate.save(update_fields=list(TUNABLE))
            changed.append({"metric": gate.metric, "before": before, "after": after})
    _claim(locked)
    what = ", ".join(
        f"{c['metric']} {_short(c['before'])} -> {_short(c['after'])}" for c in changed
    )
    _audit(
        locked, actor, "gates_edited", f"rollout #{locked.pk} gates: {what or 'no change'}", comment
    )
    _event(locked, "gates_edited", actor, comment, gates=changed)
    return locked


def _short(fields: dict[str, Any]) -> str:
    window = fields["window_seconds"]
    control = " vs control" if fields["compare_with_control"] else ""
    return f"{fields['threshold']:g}/{window}s/n{fields['min_sample']}{control}"
