"""The rollout job: evaluate every active plan's gates; roll back on a breach, advance a healthy
phase whose time is up. Called by the beat task every minute and by the debounced check after
ingestion (releases.tasks), on the `rollouts` queue.

Safe with two workers and two beats: each plan is checked inside one transaction holding its row
lock (`select_for_update(skip_locked=True)` on PostgreSQL: a second checker skips the plan), and
every step claims the plan's revision it read (SQLite has no row locks: the second claim fails
and its whole transaction, alert included, is rolled back). One step per check: a clock that
jumped three days still moves one phase at a time, so no phase is skipped.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.db import transaction

from flagsite import clock

from .gates import GateResult, gates_evaluate
from .models import ACTIVE_STATUSES, GateReading, PlanStatus, RolloutPlan
from .notify import rollout_alert
from .plans import AUTOMATIC_ROLLBACK, ROLLOUT_PLAN, PlanConflict, plan_advance, plan_locked
from .plans import plan_rollback as _rollback

log = logging.getLogger("releases")


def rollouts_check(*, environment_id: int | None = None) -> dict[int, str]:
    """Check every active plan (of one environment, or all). Returns {plan id: outcome}."""
    plans = RolloutPlan.objects.filter(status__in=ACTIVE_STATUSES)
    if environment_id is not None:
        plans = plans.filter(environment_id=environment_id)
    outcomes: dict[int, str] = {}
    for plan_id in plans.order_by("id").values_list("id", flat=True):
        try:
            outcomes[plan_id] = plan_check(plan_id=plan_id)
        except PlanConflict:
            outcomes[plan_id] = "conflict"  # another checker moved it first: nothing to do
    return outcomes


@transaction.atomic
def plan_check(*, plan_id: int) -> str:
    plan = plan_locked(plan_id, skip_locked=True)
    if plan is None:
        return "locked"  # another worker is checking it right now
    if plan.status not in ACTIVE_STATUSES:
        return plan.status
    now = clock.now()
    results = gates_evaluate(plan, now=now)
    GateReading.objects.bulk_create(
        GateReading(
            gate=r.gate,
            at=now,
            value=r.value,
            control_value=r.control_value,
            sample=r.sample,
            breached=r.breached,
        )
        for r in results
    )
    breached = [r for r in results if r.breached]
    if breached:
        _roll_back(plan, breached)
        return "rolled_back"
    RolloutPlan.objects.filter(pk=plan.pk).update(last_checked_at=now)
    if plan.status == PlanStatus.RUNNING and _phase_time_up(plan, now):
        phases = plan.phase_list()
        done = phases[plan.current_phase]
        plan_advance(
            plan=plan,
            actor=ROLLOUT_PLAN,
            comment=f"rollout #{plan.pk}: {done} held healthy for "
            f"{timedelta(seconds=done.min_duration_seconds)}",
        )
        return "advanced"
    return "healthy"


def _phase_time_up(plan: RolloutPlan, now: object) -> bool:
    phases = plan.phase_list()
    if plan.current_phase < 0 or plan.current_phase >= len(phases):
        return False
    ends = plan.phase_ends_at(phases[plan.current_phase])
    return ends is not None and ends <= now  # type: ignore[operator]


def _roll_back(plan: RolloutPlan, breached: list[GateResult]) -> None:
    first = breached[0]
    reasons = "; ".join(r.describe() for r in breached)
    comment = f"rollout #{plan.pk} rolled back automatically: {reasons}"
    details = {
        "gates": [
            {
                "gate": r.gate.metric,
                "value": r.value,
                "threshold": r.gate.threshold,
                "window_seconds": r.gate.window_seconds,
                "sample": r.sample,
                "control_value": r.control_value,
                "compare_with_control": r.gate.compare_with_control,
            }
            for r in breached
        ]
    }
    _rollback(plan=plan, actor=AUTOMATIC_ROLLBACK, comment=comment, details=details)
    rollout_alert(
        dedupe_key=f"rollout:{plan.pk}:rolled_back",
        severity="critical",
        title=f"{plan.flag.key} rolled back in {plan.environment.key}: {first.gate.metric}",
        body=comment,
        link=f"/flags/{plan.flag.key}/rollouts/",
        details=details,
        environment=plan.environment,
    )
