"""Editing a plan after it is made: a draft's phases and gates, a started plan's gate
thresholds (docs/rollouts.md, "On the page"). Both run `validation.plan_validate` as creating
does, and claim the plan's revision the editor read."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from django.db import transaction

from flags import policy
from flags.changes import Actor
from flags.validation import ConfigError

from .models import ACTIVE_STATUSES, PlanStatus, RolloutPlan
from .plans import _audit, _claim, _event, _locked_in, _require, _steps_write
from .templates_builtin import GateSpec, PhaseSpec
from .validation import plan_counts_errors, plan_specs_parse, plan_validate

TUNABLE = ("threshold", "window_seconds", "min_sample", "compare_with_control")
KEEP_METRICS = (
    "A started plan keeps its gates' metrics: change thresholds, windows and samples, "
    "or make a new plan."
)
KEEP_PHASES = "A started plan keeps its phases: roll it back or complete it, then make a new plan."
KEEP_NAME = "A started plan keeps its name."


def plan_edit(
    *,
    plan: RolloutPlan,
    actor: Actor,
    phases: list[PhaseSpec] | None,
    gates: list[GateSpec] | None,
    name: str | None = None,
    comment: str = "",
) -> RolloutPlan:
    """The one entry of the page's edit form and the API's PATCH: a draft's phases and gates
    (and name; what is None stays), or a started plan's gates (`plan_gates_update`; its phases
    and name must be None). Any other plan is refused by `plan_draft_update` ("Only a draft is
    edited")."""
    if plan.status in ACTIVE_STATUSES:
        refused = [("phases", KEEP_PHASES)] if phases is not None else []
        refused += [("name", KEEP_NAME)] if name is not None else []
        if refused:
            raise ConfigError(refused)
        kept = gates if gates is not None else _gate_specs(plan)
        return plan_gates_update(plan=plan, actor=actor, gates=kept, comment=comment)
    return plan_draft_update(
        plan=plan,
        actor=actor,
        phases=phases if phases is not None else _phase_specs(plan),
        gates=gates if gates is not None else _gate_specs(plan),
        name=name or "",
        comment=comment,
    )


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


def _gate_specs(plan: RolloutPlan) -> list[GateSpec]:
    return [GateSpec(**{f: getattr(g, f) for f in ("metric", *TUNABLE)}) for g in plan.gates.all()]


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
        raise ConfigError([("gates", KEEP_METRICS)])
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


def plan_edit_data(
    *,
    plan: RolloutPlan,
    actor: Actor,
    phases: Sequence[Mapping[str, Any]] | None,
    gates: Sequence[Mapping[str, Any]] | None,
    name: str | None = None,
    comment: str = "",
) -> RolloutPlan:
    """`plan_edit` from data in the API's JSON shape (a PATCH body), read by the one validator
    (`validation.plan_specs_parse`). A draft's `phases` / `gates` replace its own. A started
    plan's `gates` items are matched to its gates by metric (the k-th item naming a metric to
    the plan's k-th gate of that metric): an item's tunable fields replace the gate's, what it
    leaves out stays, and gates not named stay as they are. Errors name the body's items."""
    started = plan.status in ACTIVE_STATUSES
    if plan.status != PlanStatus.DRAFT and not started:  # ended: refused whatever the body
        return plan_edit(plan=plan, actor=actor, phases=None, gates=None, comment=comment)
    phase_specs: list[PhaseSpec] | None = None
    if phases is not None:  # a started plan's are refused by plan_edit, unread
        phase_specs = [] if started else plan_specs_parse(phases=phases, gates=[])[0]
    if gates is None or not started:
        gate_specs = None if gates is None else plan_specs_parse(phases=[], gates=gates)[1]
        return plan_edit(
            plan=plan, actor=actor, phases=phase_specs, gates=gate_specs, name=name, comment=comment
        )
    merged, where = _gates_matched(plan, gates)
    with _gate_paths(where):
        _, tuned = plan_specs_parse(phases=[], gates=merged)
        return plan_edit(
            plan=plan, actor=actor, phases=phase_specs, gates=tuned, name=name, comment=comment
        )


def _gates_matched(
    plan: RolloutPlan, items: Sequence[Mapping[str, Any]]
) -> tuple[list[dict[str, Any]], dict[int, int]]:
    """The plan's gates as data with the items' fields over them, and which item (the value)
    each plan gate (the key) took its fields from."""
    current = [{f: getattr(g, f) for f in ("metric", *TUNABLE)} for g in plan.gates.all()]
    too_many = plan_counts_errors(0, len(items))
    if too_many:
        raise ConfigError(too_many)
    where: dict[int, int] = {}
    for i, item in enumerate(items):
        metric = item.get("metric")
        free = [j for j, g in enumerate(current) if g["metric"] == metric and j not in where]
        if not isinstance(metric, str) or not free:
            raise ConfigError([(f"gates[{i}].metric", KEEP_METRICS)])
        where[free[0]] = i
        current[free[0]] = {**current[free[0]], **item}
    return current, where


@contextmanager
def _gate_paths(where: dict[int, int]) -> Iterator[None]:
    """ConfigError paths `gates[j]...` (the plan's j-th gate) renamed after the body's item."""
    try:
        yield
    except ConfigError as exc:
        renamed = []
        for path, message in exc.errors:
            match = re.match(r"gates\[(\d+)\]", path)
            if match and int(match.group(1)) in where:
                path = f"gates[{where[int(match.group(1))]}]" + path[match.end() :]
            renamed.append((path, message))
        raise ConfigError(renamed) from None
