"""The Metrics page: the one catalogue (built-ins read-only, team metrics), a team metric's
create / edit form with a live preview (htmx), archive and restore (docs/ui.md)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from flags import policy
from flags.changes import Actor
from flags.models import AuditEvent
from flags.validation import ConfigError
from flagsite.rendering import page

from .forms_metrics import TeamMetricForm, condition_line
from .metric_preview import metric_preview
from .metrics import CATALOGUE
from .models import MetricDefinition
from .summary import value_format
from .team_metric_changes import (
    metric_usage,
    team_metric_archive,
    team_metric_create,
    team_metric_update,
)
from .team_metrics import (
    FIELDS,
    SOURCE_NAMES,
    definition_clean,
    metric_compile,
)


def _lookup_safe(key: str) -> bool:
    """PostgreSQL refuses NUL in a text parameter (a 500); no key contains one."""
    return bool(key) and "\x00" not in key


def _definition(key: str) -> MetricDefinition:
    if not _lookup_safe(key):
        raise Http404()
    return get_object_or_404(MetricDefinition, key=key)


def _team_row(d: MetricDefinition) -> dict[str, Any]:
    reads = metric_compile(d).reads
    shown = d.value if d.kind != "proportion" else condition_line(d.condition)
    return {
        "d": d,
        "reads": reads,
        "shown": shown,
        "filters": [condition_line(f) for f in d.filters],
    }


@login_required
def metric_list(request: HttpRequest) -> HttpResponse:
    show_archived = request.GET.get("archived") == "1"
    team = (
        MetricDefinition.objects.all()
        if show_archived
        else MetricDefinition.objects.filter(archived=False)
    )
    context = {
        "builtins": list(CATALOGUE.values()),
        "team": [_team_row(d) for d in team],
        "show_archived": show_archived,
        "archived_count": MetricDefinition.objects.filter(archived=True).count(),
        "fields": [
            (SOURCE_NAMES[s], [(name, f.type, ", ".join(f.choices)) for name, f in fields.items()])
            for s, fields in FIELDS.items()
        ],
    }
    return page(request, "experiments/metrics.html", context)


def _edit(request: HttpRequest, definition: MetricDefinition | None) -> HttpResponse:
    access = policy.access_for(request.user)
    form = TeamMetricForm(request.POST or None, definition=definition)
    if request.method == "POST":
        if not access.can_write:
            raise PermissionDenied("Viewers can read but not change anything.")
        if form.is_valid():
            actor = Actor(user=request.user)
            try:
                if definition is None:
                    saved = team_metric_create(data=form.definition_data(), actor=actor)
                else:
                    saved = team_metric_update(
                        definition=definition, data=form.definition_data(), actor=actor
                    )
            except ConfigError as exc:
                form.add_config_errors(exc)
            else:
                messages.success(request, f"Metric {saved.key} saved.")
                return redirect("metric_edit", key=saved.key)
    usage = metric_usage(definition.key) if definition else []
    history = (
        AuditEvent.objects.filter(object_type="metric", object_key=definition.key)[:20]
        if definition
        else []
    )
    context = {"form": form, "definition": definition, "usage": usage, "history": history}
    return page(
        request, "experiments/metric_edit.html", context, status=400 if form.errors else 200
    )


@login_required
def metric_new(request: HttpRequest) -> HttpResponse:
    return _edit(request, None)


@login_required
def metric_edit(request: HttpRequest, key: str) -> HttpResponse:
    return _edit(request, _definition(key))


@login_required
@require_POST
def metric_archive(request: HttpRequest, key: str, action: str) -> HttpResponse:
    if action not in ("archive", "restore"):
        raise Http404()
    definition = _definition(key)
    policy.require_metric_change(request.user)
    team_metric_archive(
        definition=definition, archived=action == "archive", actor=Actor(user=request.user)
    )
    messages.success(request, f"Metric {key} {'archived' if action == 'archive' else 'restored'}.")
    return redirect("metric_edit", key=key)


@login_required
def metric_preview_view(request: HttpRequest) -> HttpResponse:
    """The form's live preview (htmx partial): the metric as typed, over the last days."""
    key = request.GET.get("existing", "")
    existing = MetricDefinition.objects.filter(key=key).first() if _lookup_safe(key) else None
    form = TeamMetricForm(request.GET, definition=existing)
    for label in ("key", "name"):  # labels do not change the numbers: preview before naming
        form.fields[label].required = False
    context: dict[str, Any] = {}
    valid = form.is_valid()
    environment = form.cleaned_data.get("preview_environment") if valid else None
    if not valid:
        context["error"] = "; ".join(
            f"{k}: {' '.join(map(str, v))}" for k, v in form.errors.items()
        )
    elif environment is None:
        context["error"] = "Choose an environment to preview in."
    else:
        data = {**form.definition_data(), "key": "preview", "name": "preview"}
        try:
            fields = definition_clean(data)
        except ConfigError as exc:
            context["error"] = str(exc)
        else:
            fields.pop("key", None)
            metric = metric_compile(MetricDefinition(key="preview", **fields))
            found = metric_preview(metric, environment_id=environment.pk, now=timezone.now())
            context.update(
                preview=found,
                environment=environment,
                text=value_format(found.value, metric.format),
            )
    status = 200 if "preview" in context else 400
    return render(request, "experiments/_metric_preview.html", context, status=status)
