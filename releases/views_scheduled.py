"""The Rollouts tab's "Schedule a change" form (docs/rollouts.md, "Scheduled changes").

The form's fields become the API's `changes` and go through the API's own function,
`scheduled_change_create`: the same permission check, production comment rule, validation and
limits. Times are UTC (the form says so, the table shows UTC): a `datetime-local` value has no
zone, and one fixed zone keeps the page, the API and the audit log telling the same time.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.views.decorators.http import require_POST

from flags import policy
from flags.models import Environment, Flag
from flags.views._common import actor, change_errors, comment_from, get_flag, page

from .scheduled import scheduled_change_create
from .views_plan_form import new_plan_form

FORM_FIELDS = ("environment", "run_at", "enabled", "default_variant", "off_variant", "comment")

# What the form calls the paths of scheduled_change_create's errors (first match wins).
LABELS = (
    ("run_at", "When"),
    ("changes.enabled", "Turn"),
    ("changes.default", "Default variant"),
    ("changes.off_variant", "Off variant"),
    ("changes", "What to change"),
    ("comment", "Comment"),
)


def schedule_form(source: Any = None) -> dict[str, Any]:
    """The form's context: the posted values kept (an empty form when `source` is None)."""
    values = {name: str((source or {}).get(name, "")) for name in FORM_FIELDS}
    return {"values": values, "errors": []}


def schedule_label(path: str) -> str:
    for prefix, label in LABELS:
        if path == prefix or path.startswith((f"{prefix}.", f"{prefix}[")):
            return label
    return ""


def run_at_parse(text: str) -> datetime:
    """A `datetime-local` value (`2026-12-24T18:00`, seconds optional) read as UTC; an explicit
    offset is honoured. ValueError with the reason when it is not one."""
    text = text.strip()
    if not text:
        raise ValueError("Pick a date and time.")
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a date and time (YYYY-MM-DD HH:MM, UTC).") from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def schedule_changes(values: dict[str, str]) -> dict[str, Any]:
    """The form's choices as the API's `changes` ("" leaves a field as it is)."""
    changes: dict[str, Any] = {}
    if values["enabled"] in ("on", "off"):
        changes["enabled"] = values["enabled"] == "on"
    if values["default_variant"]:
        changes["default"] = {"variant": values["default_variant"]}
    if values["off_variant"]:
        changes["off_variant"] = values["off_variant"]
    return changes


def _render(request: HttpRequest, flag: Flag, form: dict[str, Any], status: int) -> HttpResponse:
    from .views import rollouts_context

    context = {**rollouts_context(request, flag), "new_plan": new_plan_form({}), "schedule": form}
    return page(
        request,
        "releases/flag_rollouts.html",
        context,
        partial="releases/_scheduled.html",
        status=status,
    )


@login_required
@require_POST
def scheduled_new(request: HttpRequest, key: str) -> HttpResponse:
    """Schedule a change from the form: back to the tab (htmx: the card again) with the new
    row, or the form again with its values and a 400 naming each refused field."""
    flag = get_flag(key)
    environment = get_object_or_404(Environment, key=request.POST.get("environment", ""))
    policy.require_environment(request.user, environment)
    form = schedule_form(request.POST)
    try:
        run_at = run_at_parse(form["values"]["run_at"])
    except ValueError as exc:
        form["errors"] = [("When", str(exc))]
        return _render(request, flag, form, 400)
    try:
        change = scheduled_change_create(
            flag=flag,
            environment=environment,
            changes=schedule_changes(form["values"]),
            run_at=run_at,
            actor=actor(request),
            comment=comment_from(request),
        )
    except ValidationError as exc:
        form["errors"] = [(schedule_label(path), m) for path, m in change_errors(exc)]
        return _render(request, flag, form, 400)
    if getattr(request, "htmx", False):  # the new row in the swapped card says it
        return _render(request, flag, schedule_form(), 200)
    messages.success(request, f"Change #{change.pk} scheduled for {run_at:%Y-%m-%d %H:%M} UTC.")
    return HttpResponseRedirect(reverse("flag_rollouts", args=[key]) + "#scheduled-changes")
