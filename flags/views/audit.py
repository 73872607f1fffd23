"""The audit log: who changed what, when; each entry links to its object and its diff."""

from __future__ import annotations

from datetime import datetime, time
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone

from flags.forms import AuditFilterForm
from flags.models import AuditEvent, Environment

from ._common import diff_rows, page


def object_url(event: AuditEvent) -> str:
    if event.object_type == "flag":
        url = reverse("flag_detail", args=[event.object_key])
        return url + (f"?env={event.environment.key}" if event.environment else "")
    if event.object_type == "segment":
        return reverse("segment_detail", args=[event.object_key])
    if event.object_type in ("api_key", "environment"):
        return reverse("environments")
    if event.object_type == "user":
        return reverse("users")
    if event.object_type == "metric":  # a team metric (experiments.team_metric_changes)
        return reverse("metric_edit", args=[event.object_key])
    if event.object_type == "import":  # object_key is the import's token (imports app)
        return reverse("import_detail", args=[event.object_key])
    return ""


def filtered(form: AuditFilterForm) -> QuerySet[AuditEvent]:
    events = AuditEvent.objects.select_related("actor", "environment", "version")
    if not form.is_valid():
        return events
    data = form.cleaned_data
    if data["who"]:
        events = events.filter(
            Q(actor__username__icontains=data["who"]) | Q(actor_label__icontains=data["who"])
        )
    if data["what"]:
        events = events.filter(
            Q(action__icontains=data["what"])
            | Q(object_key__icontains=data["what"])
            | Q(summary__icontains=data["what"])
        )
    if data["environment"]:
        events = events.filter(environment__key=data["environment"])
    tz = timezone.get_current_timezone()
    if data["since"]:
        events = events.filter(created_at__gte=datetime.combine(data["since"], time.min, tz))
    if data["until"]:
        events = events.filter(created_at__lte=datetime.combine(data["until"], time.max, tz))
    return events


@login_required
def audit_log(request: HttpRequest) -> HttpResponse:
    form = AuditFilterForm(request.GET)
    paginator = Paginator(filtered(form), 50)
    page_obj = paginator.get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context: dict[str, Any] = {
        "form": form,
        "page_obj": page_obj,
        "items": [{"event": e, "url": object_url(e), "diff": e.diff} for e in page_obj],
        "environments": Environment.objects.all(),
        "query": query.urlencode(),
    }
    return page(request, "audit/list.html", context, partial="audit/_results.html")


@login_required
def audit_detail(request: HttpRequest, event_id: int) -> HttpResponse:
    event = get_object_or_404(
        AuditEvent.objects.select_related("actor", "environment", "version"), pk=event_id
    )
    context = {"event": event, "object_url": object_url(event), "diff": diff_rows(event.diff)}
    return page(request, "audit/detail.html", context)
