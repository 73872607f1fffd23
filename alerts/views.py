"""The alert list, one alert's page (with its deliveries and every attempt), acknowledge and
resolve. Everyone signed in reads; who may triage is alerts.triage's rule."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_POST

from flagsite.rendering import page

from .forms import AlertFilterForm, TriageForm, alerts_filtered
from .models import Alert, Delivery, DeliveryAttempt
from .triage import alert_acknowledge, alert_resolve, alert_triage_check


@login_required
def alert_list(request: HttpRequest) -> HttpResponse:
    form = AlertFilterForm(request.GET)
    if not form.is_valid():
        fields = ", ".join(sorted(form.errors))
        messages.error(request, f"Unknown filter value: {fields}.")
        empty = {"form": AlertFilterForm(), "page_obj": None, "query": ""}
        return page(request, "alerts/list.html", empty, status=400)
    paginator = Paginator(alerts_filtered(form.cleaned_data), 50)
    query = request.GET.copy()
    query.pop("page", None)
    context: dict[str, Any] = {
        "form": form,
        "page_obj": paginator.get_page(request.GET.get("page")),
        "query": query.urlencode(),
    }
    return page(request, "alerts/list.html", context, partial="alerts/_results.html")


@login_required
def alert_detail(request: HttpRequest, alert_id: int) -> HttpResponse:
    deliveries = Delivery.objects.select_related("channel", "digest").prefetch_related(
        Prefetch("tries", queryset=DeliveryAttempt.objects.order_by("number")), "digest__tries"
    )
    alert = get_object_or_404(
        Alert.objects.select_related(
            "environment", "acknowledged_by", "resolved_by"
        ).prefetch_related(Prefetch("deliveries", queryset=deliveries)),
        pk=alert_id,
    )
    return page(request, "alerts/detail.html", {"alert": alert})


def _triage(request: HttpRequest, alert_id: int, action: Any, done: str) -> HttpResponse:
    alert_triage_check(user=request.user)
    alert = get_object_or_404(Alert, pk=alert_id)
    form = TriageForm(request.POST)
    if not form.is_valid():
        problem = " ".join(str(e) for e in form.errors["comment"])
        return HttpResponse(f"comment: {problem}", status=400, content_type="text/plain")
    htmx = getattr(request, "htmx", False)
    try:
        alert = action(alert_id=alert.pk, user=request.user, comment=form.cleaned_data["comment"])
    except ValidationError as exc:
        # htmx: the row shows the alert as it is now (e.g. someone resolved it meanwhile).
        alert.refresh_from_db()
        if not htmx:
            messages.error(request, exc.messages[0])
    else:
        if not htmx:
            messages.success(request, f"Alert {done}.")
    if htmx:
        return page(request, "alerts/_row_swap.html", {"alert": alert})
    if request.POST.get("from") == "detail":
        return redirect("alert_detail", alert_id=alert.pk)
    return redirect("alerts")


@login_required
@require_POST
def alert_acknowledge_view(request: HttpRequest, alert_id: int) -> HttpResponse:
    return _triage(request, alert_id, alert_acknowledge, "acknowledged")


@login_required
@require_POST
def alert_resolve_view(request: HttpRequest, alert_id: int) -> HttpResponse:
    return _triage(request, alert_id, alert_resolve, "resolved")


@login_required
def alert_badge(request: HttpRequest) -> HttpResponse:
    """The navigation badge alone (htmx polls it, so a new alert shows without a reload)."""
    return page(request, "alerts/_badge.html")
