"""The guardrail editor: rows on the create form, and the experiment page's "Edit guardrails"
(draft or running; docs/experiments.md "Guardrails")."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect

from flags import policy
from flags.changes import Actor
from flagsite.rendering import page

from .guardrails import (
    MAX_GUARDRAILS,
    GuardrailError,
    Row,
    experiment_guardrails_update,
    metric_options,
    rows_clean,
    rows_default,
    rows_from,
    rows_labelled,
    rows_parse,
)
from .models import Experiment, Status

EDITED = "guardrails_edited"  # the editor's hidden marker: its rows were posted


def editor_read(
    data: Mapping[str, Any] | None, *, initial: list[Row], watched: set[str] | None = None
) -> tuple[list[dict[str, Any]] | None, list[str], dict[str, Any]]:
    """The posted rows (None: not posted, keep the initial ones), their errors, and the
    template context of the editor (experiments/_guardrails.html)."""
    guardrails: list[dict[str, Any]] | None = None
    errors: list[str] = []
    rows = initial
    if data is not None and data.get(EDITED):
        rows = rows_parse(data)
        guardrails, errors = rows_clean(rows, allowed_archived=watched)
    options = metric_options(extra=watched)
    context = {
        "guardrail_rows": rows_labelled(rows, options),
        "guardrail_metrics": options,
        "guardrail_errors": errors,
        "max_guardrails": MAX_GUARDRAILS,
    }
    return guardrails, errors, context


def editor_initial() -> list[Row]:
    return rows_default()


@login_required
def experiment_guardrails(request: HttpRequest, key: str) -> HttpResponse:
    experiment = get_object_or_404(
        Experiment.objects.select_related("flag", "environment"), key=key
    )
    editable = experiment.status in (Status.DRAFT, Status.RUNNING)
    watched = {g["metric"] for g in experiment.guardrails}
    data = request.POST if request.method == "POST" else None
    if data is not None:
        policy.require_write(request.user)
    guardrails, errors, context = editor_read(
        data, initial=rows_from(experiment.guardrails), watched=watched
    )
    if data is not None and editable and guardrails is not None and not errors:
        try:
            experiment_guardrails_update(
                experiment=experiment,
                guardrails=guardrails,
                actor=Actor(user=request.user),
                comment=request.POST.get("comment", "").strip()[:1000],
            )
        except GuardrailError as exc:
            errors = context["guardrail_errors"] = [m for _, m in exc.errors]
        else:
            messages.success(request, "Guardrails saved.")
            return redirect("experiment_detail", key=experiment.key)
    if data is not None and not editable:
        errors = context["guardrail_errors"] = [
            f"Only a draft or running experiment's guardrails change ({experiment.status})."
        ]
    status = 400 if errors else 200
    return page(
        request,
        "experiments/guardrails.html",
        {"experiment": experiment, "editable": editable, **context},
        status=status,
    )
