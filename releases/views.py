"""Rollout pages: a flag's plans (timeline, gates against thresholds with a trend and sample,
the buttons), the new-plan form, and the list of running rollouts."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.views.decorators.http import require_POST

from alerts.models import Alert
from experiments.metrics import metric_get
from flags import policy
from flags.models import Environment, Flag
from flags.views._common import actor, change_errors, comment_from, get_flag, page
from flags.views.dashboard import flag_row
from flagsite import clock

from . import plans
from .bluegreen import bluegreen_state, bluegreen_switch
from .gates import fmt
from .models import ACTIVE_STATUSES, Gate, GateReading, RolloutPlan, ScheduledChange
from .scheduled import scheduled_change_cancel
from .views_plan_form import new_plan_form
from .views_scheduled import schedule_form

TREND_POINTS = 30
TREND_W, TREND_H = 120, 28


def trend(readings: list[GateReading], threshold: float) -> dict[str, Any] | None:
    """A small SVG polyline of a gate's recent values (oldest left) with the threshold line."""
    values = [r.value for r in reversed(readings) if r.value is not None]
    if len(values) < 2:
        return None
    top = max(max(values), threshold) * 1.1 or 1.0
    step = TREND_W / (len(values) - 1)
    points = " ".join(
        f"{i * step:.1f},{TREND_H - TREND_H * v / top:.1f}" for i, v in enumerate(values)
    )
    return {
        "points": points,
        "threshold_y": round(TREND_H - TREND_H * threshold / top, 1),
        "w": TREND_W,
        "h": TREND_H,
    }


def gate_rows(plan: RolloutPlan) -> list[dict[str, Any]]:
    rows = []
    for gate in plan.gates.all():
        readings = list(GateReading.objects.filter(gate=gate).order_by("-at")[:TREND_POINTS])
        last = readings[0] if readings else None
        metric = metric_get(gate.metric)
        rows.append(
            {
                "gate": gate,
                "metric": metric,
                "value": fmt(metric, last.value if last else None),
                "threshold": "control"
                if gate.compare_with_control
                else fmt(metric, gate.threshold),
                "window": timedelta(seconds=gate.window_seconds),
                "sample": last.sample if last else 0,
                "enough": bool(last and last.sample >= gate.min_sample),
                "breached": bool(last and last.breached),
                "trend": trend(readings, gate.threshold),
            }
        )
    return rows


def timeline(plan: RolloutPlan) -> list[dict[str, Any]]:
    now = clock.now()
    out = []
    for phase in plan.phase_list():
        if plan.current_phase < 0 or phase.position > plan.current_phase:
            state = "next"
        elif phase.position < plan.current_phase or not plan.is_active:
            state = "done"
        else:
            state = "current"
        left = None
        ends = plan.phase_ends_at(phase)
        if state == "current" and ends is not None:
            left = max(ends - (plan.paused_at or now), timedelta(0))
        out.append({"phase": phase, "state": state, "left": left})
    return out


def plan_context(plan: RolloutPlan, user: Any) -> dict[str, Any]:
    return {
        "plan": plan,
        "timeline": timeline(plan),
        "gates": gate_rows(plan),
        "events": list(plan.events.order_by("-at", "-id")[:20]),
        "can_act": policy.access_for(user).can_change(plan.environment),
        "needs_comment": plan.environment.is_production,
        "alerts": list(
            Alert.objects.filter(source="rollout", dedupe_key__startswith=f"rollout:{plan.pk}:")
        ),
    }


def rollouts_context(request: HttpRequest, flag: Flag) -> dict[str, Any]:
    """The Rollouts tab's context (the new-plan form's own context is added by the caller)."""
    environments = list(Environment.objects.all())
    all_plans = list(RolloutPlan.objects.filter(flag=flag).select_related("environment", "flag"))
    active = [plan_context(p, request.user) for p in all_plans if p.is_active]
    past = [p for p in all_plans if not p.is_active and p.status != "draft"]
    access = policy.access_for(request.user)
    return {
        "flag": flag,
        "tab": "rollouts",
        "row": flag_row(flag, environments, request.user, clock.now()),
        "environments": environments,
        "active": active,
        "drafts": [
            {"plan": p, "gates": list(p.gates.all()), "can_edit": access.can_change(p.environment)}
            for p in all_plans
            if p.status == "draft"
        ],
        "past": past,
        "latest_ended": plan_context(past[0], request.user) if past else None,
        "upcoming": _upcoming_phases(all_plans),
        "bluegreen": [
            {"env": env, "state": bluegreen_state(flag, env)}
            for env in environments
            if len(flag.variants) == 2
        ],
        "scheduled": list(
            ScheduledChange.objects.filter(flag=flag)
            .select_related("environment", "created_by")
            .order_by("-run_at")[:20]
        ),
        "schedule": schedule_form(),
        # The form offers the environments this person may change (policy.Access.can_change).
        "schedule_environments": [e for e in environments if access.can_change(e)],
    }


@login_required
def flag_rollouts(request: HttpRequest, key: str) -> HttpResponse:
    """The tab; `?template=` fills the new-plan form with that template's rows (htmx asks for
    just the form: `HX-Target: rollout-new`)."""
    form = new_plan_form(request.GET)
    htmx = getattr(request, "htmx", None)
    if htmx and htmx.target == "rollout-new":
        flag = get_flag(key)
        context = {"flag": flag, "environments": Environment.objects.all(), "new_plan": form}
        return page(request, "releases/_plan_new_form.html", context)
    context = {**rollouts_context(request, get_flag(key)), "new_plan": form}
    return page(request, "releases/flag_rollouts.html", context)


def _upcoming_phases(all_plans: list[RolloutPlan]) -> list[dict[str, Any]]:
    """The next phase change of each running plan, listed with the scheduled changes (it is
    applied by the same job and clock, on condition that the gates are healthy)."""
    rows = []
    for plan in all_plans:
        if plan.status != "running":
            continue
        phases = plan.phase_list()
        if not 0 <= plan.current_phase < len(phases):
            continue
        nxt = phases[plan.current_phase + 1] if plan.current_phase + 1 < len(phases) else None
        rows.append(
            {
                "at": plan.phase_ends_at(phases[plan.current_phase]),
                "plan": plan,
                "what": f"rollout #{plan.pk}: "
                + (f"{nxt} ({nxt.audience})" if nxt else f"complete: {plan.variant} default"),
            }
        )
    return rows


def _back(plan_or_key: RolloutPlan | str) -> HttpResponseRedirect:
    key = plan_or_key if isinstance(plan_or_key, str) else plan_or_key.flag.key
    return HttpResponseRedirect(reverse("flag_rollouts", args=[key]))


@login_required
@require_POST
def rollout_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    from .api import ACTIONS

    plan = get_object_or_404(RolloutPlan.objects.select_related("flag", "environment"), pk=pk)
    if action not in ACTIONS:
        messages.error(request, f"No action {action!r}.")
        return _back(plan)
    policy.require_environment(request.user, plan.environment)
    try:
        ACTIONS[action](plan=plan, actor=actor(request), comment=comment_from(request))
    except ValidationError as exc:
        for path, message in change_errors(exc):
            messages.error(request, f"{path}: {message}" if path else message)
    except plans.PlanConflict as exc:
        messages.error(request, str(exc))
    return _back(plan)


@login_required
def rollouts_dashboard(request: HttpRequest) -> HttpResponse:
    running = RolloutPlan.objects.filter(status__in=ACTIVE_STATUSES).select_related(
        "flag", "environment"
    )
    rows = []
    for plan in running:
        phases = plan.phase_list()
        current = phases[plan.current_phase] if 0 <= plan.current_phase < len(phases) else None
        last = {
            g.id: GateReading.objects.filter(gate=g).order_by("-at").first()
            for g in Gate.objects.filter(plan=plan)
        }
        rows.append(
            {
                "plan": plan,
                "phase": current,
                "phase_number": plan.current_phase + 1,
                "phases": len(phases),
                "healthy": not any(r and r.breached for r in last.values()),
                "checked": plan.last_checked_at,
            }
        )
    completed = RolloutPlan.objects.filter(status="completed").select_related("flag", "environment")
    ready = [p for p in completed if plans.READY_TO_REMOVE_TAG in p.flag.tags]
    return page(
        request,
        "releases/dashboard.html",
        {"rows": rows, "ready": list(ready), "section": "rollouts"},
    )


@login_required
@require_POST
def scheduled_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    change = get_object_or_404(ScheduledChange.objects.select_related("flag", "environment"), pk=pk)
    policy.require_environment(request.user, change.environment)
    try:
        scheduled_change_cancel(change=change, actor=actor(request), comment=comment_from(request))
    except ValidationError as exc:
        for path, message in change_errors(exc):
            messages.error(request, f"{path}: {message}" if path else message)
    return _back(change.flag.key)


@login_required
@require_POST
def bluegreen_switch_view(request: HttpRequest, key: str, env: str) -> HttpResponse:
    flag = get_flag(key)
    environment = get_object_or_404(Environment, key=env)
    policy.require_environment(request.user, environment)
    guard = request.POST.get("guard_minutes", "").strip()
    try:
        bluegreen_switch(
            flag=flag,
            environment=environment,
            to=request.POST.get("to", ""),
            actor=actor(request),
            comment=comment_from(request),
            guard_seconds=int(guard) * 60 if guard.isdigit() and int(guard) > 0 else None,
        )
    except ValidationError as exc:
        for path, message in change_errors(exc):
            messages.error(request, f"{path}: {message}" if path else message)
    return _back(key)
