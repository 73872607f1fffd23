"""The experiment pages: list, create, results (with htmx refresh), lifecycle buttons, CSV."""

from __future__ import annotations

import csv
import math
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from flags.changes import Actor
from flags.models import Environment, Flag
from flags.validation import ConfigError
from flagsite.rendering import page

from . import charts, planning
from .forms import ExperimentForm
from .guardrails import guardrails_display
from .lifecycle import (
    ExperimentError,
    experiment_conclude,
    experiment_create,
    experiment_srm_acknowledge,
    experiment_start,
    experiment_stop,
    srm_unacknowledged,
)
from .metrics import metric_get
from .models import Experiment, ExperimentResult
from .planning import PlanError
from .summary import lift_format, value_format
from .views_guardrails import editor_initial, editor_read


@login_required
def experiment_list(request: HttpRequest) -> HttpResponse:
    experiments = Experiment.objects.select_related("flag", "environment")
    return page(request, "experiments/list.html", {"experiments": experiments})


@login_required
def experiment_new(request: HttpRequest) -> HttpResponse:
    form = ExperimentForm(request.POST or None)
    guardrails, guardrail_errors, editor = editor_read(
        request.POST if request.method == "POST" else None, initial=editor_initial()
    )
    if request.method == "POST" and form.is_valid() and not guardrail_errors:
        fields = form.cleaned_for_create()
        if guardrails is not None:
            fields["guardrails"] = guardrails
        try:
            experiment = experiment_create(actor=Actor(user=request.user), **fields)
        except ExperimentError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            return redirect("experiment_detail", key=experiment.key)
    status = 400 if form.errors or guardrail_errors else 200
    return page(request, "experiments/new.html", {"form": form, **editor}, status=status)


def _number(request: HttpRequest, field: str, default: float, lo: float, hi: float) -> float:
    raw = request.GET.get(field, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise PlanError(field, f"{raw!r} is not a number.") from None
    if not (math.isfinite(value) and lo < value < hi):
        raise PlanError(field, f"must be between {lo:g} and {hi:g} (exclusive).")
    return value


@login_required
def experiment_power(request: HttpRequest) -> HttpResponse:
    """The create form's power calculator (htmx partial): units per variant and days for the
    primary metric's observed variance; the target units field is filled out of band."""
    try:
        flag = Flag.objects.filter(key=request.GET.get("flag", "")).first()
        if flag is None:
            raise PlanError("flag", "choose a flag.")
        environment = Environment.objects.filter(key=request.GET.get("environment", "")).first()
        if environment is None:
            raise PlanError("environment", "choose an environment.")
        try:
            metric = metric_get(request.GET.get("primary_metric", ""))
        except KeyError:
            raise PlanError("primary_metric", "choose a metric of the catalogue.") from None
        alpha = _number(request, "alpha", 0.05, 0, 0.5)
        power = _number(request, "power", 0.8, alpha, 1)
        mde = _number(request, "mde_percent", 5.0, 0, 1000) / 100
        share = _number(request, "traffic_percentage", 100.0, 0, 100.0001) / 100
        treatments = [t for t in request.GET.get("treatments", "").split(",") if t.strip()]
        found = planning.plan(
            environment_id=environment.pk,
            flag_key=flag.key,
            metric=metric,
            alpha=alpha,
            power=power,
            mde_relative=mde,
            variants=1 + max(1, len(treatments)),
            traffic_share=min(share, 1.0),
            now=timezone.now(),
        )
    except PlanError as exc:
        return render(
            request,
            "experiments/_power.html",
            {"error": exc.message, "field": exc.field},
            status=400,
        )
    return render(request, "experiments/_power.html", {"plan": found})


def _rows(data: dict[str, Any]) -> list[dict[str, Any]]:
    """The snapshot's metric rows, formatted for the table."""
    out = []
    for row in data.get("metrics", []):
        fmt = row["format"]
        values = [
            {
                "variant": v,
                "text": value_format(row["values"][v]["value"], fmt),
                "n": row["values"][v]["n"],
            }
            for v in data["variants"]
        ]
        comparisons = []
        for variant, c in row["comparisons"].items():
            rel, ci = c.get("rel_lift"), c.get("rel_ci")
            comparisons.append(
                {
                    "variant": variant,
                    "abs": (("+" if c["abs_lift"] >= 0 else "−") + lift_format(c["abs_lift"], fmt))
                    if c.get("abs_lift") is not None
                    else "–",
                    "rel": f"{rel * 100:+.1f} %" if rel is not None else "–",
                    "ci": f"{ci[0] * 100:+.1f} to {ci[1] * 100:+.1f} %" if ci else "–",
                    "p": c.get("p_value"),
                    "p_adjusted": c.get("p_adjusted"),
                    "significant": c.get("significant"),
                    "effect": c.get("effect_size"),
                    "chance": c.get("chance_to_beat"),
                    "variance_reduction": c.get("variance_reduction"),
                    "error": c.get("error"),
                    "verdict": charts._verdict(c, row["direction"]),
                }
            )
        out.append(row | {"formatted": values, "formatted_comparisons": comparisons})
    return out


def _context(experiment: Experiment) -> dict[str, Any]:
    history = list(ExperimentResult.objects.filter(experiment=experiment).order_by("period"))
    latest = history[-1] if history else None
    data = latest.data if latest else {}
    treatment = experiment.treatments[0] if experiment.treatments else ""
    units = data.get("units", {})
    target = experiment.target_units_per_variant
    progress = [
        {
            "variant": v,
            "units": units.get(v, 0),
            "percent": min(100, round(100 * units.get(v, 0) / target)) if target else 0,
        }
        for v in experiment.variants
    ]
    return {
        "experiment": experiment,
        "result": latest,
        "data": data,
        "rows": _rows(data) if data else [],
        "forest": charts.forest(data.get("metrics", [])) if data else {"items": []},
        "timeline": charts.over_time(
            [(r.period.strftime("%m-%d %H:%M"), r.data) for r in history],
            experiment.primary_metric,
            treatment,
        ),
        "progress": progress,
        "srm_blocking": srm_unacknowledged(experiment),
        "history_count": len(history),
        "guardrail_list": guardrails_display(experiment.guardrails),
    }


@login_required
def experiment_detail(request: HttpRequest, key: str) -> HttpResponse:
    experiment = get_object_or_404(
        Experiment.objects.select_related("flag", "environment"), key=key
    )
    return page(
        request,
        "experiments/detail.html",
        _context(experiment),
        partial="experiments/_results.html",
    )


@login_required
@require_POST
def experiment_action(request: HttpRequest, key: str, action: str) -> HttpResponse:
    experiment = get_object_or_404(Experiment, key=key)
    actor = Actor(user=request.user)
    comment = request.POST.get("comment", "")
    try:
        if action == "start":
            experiment_start(experiment=experiment, actor=actor, comment=comment)
        elif action == "stop":
            experiment_stop(experiment=experiment, actor=actor, comment=comment)
        elif action == "conclude":
            ship = request.POST.get("ship", "")
            experiment_conclude(experiment=experiment, ship=ship, actor=actor, comment=comment)
        elif action == "acknowledge-srm":
            experiment_srm_acknowledge(experiment=experiment, actor=actor)
        elif action == "refresh":
            transaction.on_commit(lambda: _refresh_send(experiment.pk))
            messages.info(request, "Recomputing: the results update in a moment.")
        else:
            return HttpResponse("Unknown action.", status=404)
    except ExperimentError as exc:
        messages.error(request, exc.message)
    except ConfigError as exc:
        messages.error(request, "; ".join(message for _, message in exc.errors))
    return redirect("experiment_detail", key=experiment.key)


def _refresh_send(experiment_id: int) -> None:
    """Queue the computation; with the broker unreachable, compute it in this request."""
    from .compute import experiment_compute_results
    from .tasks import compute_experiment

    try:
        compute_experiment.apply_async((experiment_id,), retry=False)
    except Exception:
        experiment_compute_results(experiment_id=experiment_id, refresh=True)


@login_required
def experiment_results_csv(request: HttpRequest, key: str) -> HttpResponse:
    experiment = get_object_or_404(Experiment, key=key)
    response = HttpResponse(content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="{experiment.key}-results.csv"'
    results_csv_write(experiment, response)
    return response


CSV_COLUMNS = [
    "computed_at", "metric", "role", "variant", "value", "n", "abs_lift", "abs_ci_lo",
    "abs_ci_hi", "rel_lift", "rel_ci_lo", "rel_ci_hi", "p_value", "p_adjusted", "significant",
    "effect_size", "chance_to_beat", "method",
]  # fmt: skip


def results_csv_write(experiment: Experiment, out: Any) -> None:
    """The latest snapshot, one line per metric and variant (the control's lift is empty)."""
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    latest = ExperimentResult.objects.filter(experiment=experiment).first()
    if latest is None:
        return
    for row in latest.data["metrics"]:
        for variant in latest.data["variants"]:
            value = row["values"][variant]
            c = row["comparisons"].get(variant, {})
            abs_ci, rel_ci = c.get("abs_ci") or [None, None], c.get("rel_ci") or [None, None]
            writer.writerow(
                [
                    latest.computed_at.isoformat(), row["metric"], row["role"], variant,
                    value["value"], value["n"], c.get("abs_lift"), *abs_ci, c.get("rel_lift"),
                    *rel_ci, c.get("p_value"), c.get("p_adjusted"), c.get("significant"),
                    c.get("effect_size"), c.get("chance_to_beat"), c.get("method"),
                ]
            )  # fmt: skip
