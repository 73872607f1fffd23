"""The new-plan form (a template's phases and gates as editable rows) and a draft's edit page
(docs/rollouts.md, "On the page"). Rows go through the API's validator (releases/validation.py)
and people through the same policy as every rollout button."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.views.decorators.http import require_POST

from flags import policy
from flags.models import Environment
from flags.views._common import actor, change_errors, comment_from, get_flag, page

from . import editing, plans
from .models import ACTIVE_STATUSES, PlanStatus, RolloutPlan
from .plan_form import (
    GateRow,
    PhaseRow,
    gate_rows_from,
    phase_rows_from,
    rows_context,
    rows_errors,
    rows_parse,
    rows_posted,
    rows_specs,
)
from .templates_builtin import DEFAULT_GATES, TEMPLATES, template_phases

FORM_FIELDS = ("environment", "variant", "replaces", "name", "comment")


def _template(source: Any) -> str:
    template = source.get("template", "canary")
    return str(template) if template in TEMPLATES else "canary"


def new_plan_form(
    source: Any,
    *,
    phases: list[PhaseRow] | None = None,
    gates: list[GateRow] | None = None,
    posted: bool = False,
) -> dict[str, Any]:
    """The new-plan form's context: the template chosen in `source` (GET or POST data) and its
    rows, or the rows people posted, with their other fields kept."""
    template = _template(source)
    if phases is None or gates is None:
        phases = phase_rows_from(template_phases(template))
        gates = gate_rows_from(DEFAULT_GATES)
    values = {name: str(source.get(name, "")) for name in FORM_FIELDS}
    return {
        "templates": TEMPLATES,
        "template": template,
        "values": values,
        "start": bool(source.get("start")) if posted else True,
        "form_errors": [],
        **rows_context(phases, gates),
    }


def _rollouts_page(request: HttpRequest, key: str, form: dict[str, Any]) -> HttpResponse:
    from .views import rollouts_context

    context = {**rollouts_context(request, get_flag(key)), "new_plan": form}
    return page(request, "releases/flag_rollouts.html", context, status=400)


@login_required
@require_POST
def rollout_new(request: HttpRequest, key: str) -> HttpResponse:
    flag = get_flag(key)
    environment = get_object_or_404(Environment, key=request.POST.get("environment", ""))
    policy.require_environment(request.user, environment)
    phase_rows, gate_rows = rows_parse(request.POST)
    if not rows_posted(request.POST, "phase"):
        phase_rows = phase_rows_from(template_phases(_template(request.POST)))
    if not rows_posted(request.POST, "gate"):
        gate_rows = gate_rows_from(DEFAULT_GATES)
    form = new_plan_form(request.POST, phases=phase_rows, gates=gate_rows, posted=True)
    try:
        phases, gates = rows_specs(phase_rows, gate_rows)
        with transaction.atomic():  # a refused start leaves no draft behind
            plan = plans.plan_create(
                flag=flag,
                environment=environment,
                variant=request.POST.get("variant", ""),
                replaces=request.POST.get("replaces", ""),
                template=form["template"],
                name=request.POST.get("name", "").strip()[:200],
                phases=phases,
                gates=gates,
                actor=actor(request),
            )
            if request.POST.get("start"):
                plans.plan_start(plan=plan, actor=actor(request), comment=comment_from(request))
    except ValidationError as exc:
        form["form_errors"] = rows_errors(change_errors(exc), phase_rows, gate_rows)
        return _rollouts_page(request, key, form)
    except plans.PlanConflict as exc:
        form["form_errors"] = [("", str(exc))]
        return _rollouts_page(request, key, form)
    messages.success(request, f"Rollout #{plan.pk} {'started' if plan.is_active else 'saved'}.")
    return HttpResponseRedirect(reverse("flag_rollouts", args=[key]) + f"#plan-{plan.pk}")


def _edit_save(request: HttpRequest, plan: RolloutPlan, rows: tuple[Any, Any], name: str) -> None:
    """A draft's phases and gates, or a started plan's gates (ValidationError if refused): the
    same `editing.plan_edit` as the API's PATCH."""
    phases, gates = rows_specs(*rows)
    started = plan.status in ACTIVE_STATUSES
    editing.plan_edit(
        plan=plan,
        actor=actor(request),
        phases=None if started else phases,
        gates=gates,
        name=None if started else name,
        comment=comment_from(request),
    )


@login_required
def rollout_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """A draft's phases and gates (and name), or a started plan's gate thresholds: GET the
    form, POST to save."""
    plan = get_object_or_404(RolloutPlan.objects.select_related("flag", "environment"), pk=pk)
    started = plan.status in ACTIVE_STATUSES
    errors: list[tuple[str, str]] = []
    phase_rows = phase_rows_from(plan.phase_list())
    gate_rows = gate_rows_from(plan.gates.all())
    name, revision = plan.name, plan.revision
    if request.method == "POST":
        policy.require_environment(request.user, plan.environment)
        posted_phases, gate_rows = rows_parse(request.POST)
        phase_rows = phase_rows if started else posted_phases
        name = request.POST.get("name", "").strip()[:200]
        posted = request.POST.get("revision", "")
        plan.revision = revision = int(posted) if posted.isdigit() else revision
        try:
            _edit_save(request, plan, ([] if started else phase_rows, gate_rows), name)
        except ValidationError as exc:
            errors = rows_errors(change_errors(exc), posted_phases, gate_rows)
        except plans.PlanConflict as exc:
            errors = [("", str(exc))]
        else:
            what = "gates" if started else "draft"
            messages.success(request, f"Rollout #{plan.pk}: {what} saved.")
            return HttpResponseRedirect(reverse("flag_rollouts", args=[plan.flag.key]))
    context = {
        "plan": plan,
        "flag": plan.flag,
        "editable": plan.status == PlanStatus.DRAFT,
        "started": started,
        "can_edit": policy.access_for(request.user).can_change(plan.environment),
        "name": name,
        "revision": revision,
        "comment": request.POST.get("comment", ""),
        "form_errors": errors,
        **rows_context(phase_rows, gate_rows, gates_fixed=started),
    }
    return page(request, "releases/plan_edit.html", context, status=400 if errors else 200)
