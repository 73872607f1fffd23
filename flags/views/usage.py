"""A flag's Usage tab: evaluations per variant per environment (a server-rendered SVG chart),
last evaluated per environment, and the per-variant outcomes (metric catalogue + attribution)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from experiments.metrics import CATALOGUE, OUTCOME_METRICS, Metric
from experiments.outcomes import MetricValue, outcomes_by_variant
from feedback.usage import PERIODS, bucket_starts, flag_usage, last_evaluated, period_get
from flags.models import Environment

from ._common import get_flag, page
from .dashboard import flag_row

CHART_WIDTH = 600
CHART_HEIGHT = 120
SERIES_COLOURS = 6  # .series-0 ... .series-5 in app.css


def _variant_order(flag: Any, seen: set[str]) -> list[str]:
    declared = [v["key"] for v in flag.variants]
    return declared + sorted(seen - set(declared))


def _daily(starts: list[datetime]) -> bool:
    return len(starts) < 2 or starts[1] - starts[0] >= timedelta(days=1)


def usage_chart(
    series: dict[str, list[int]], starts: list[datetime], order: list[str]
) -> dict[str, Any]:
    """Stacked bars, one per bucket, as SVG rectangles (no script: the page's CSP allows none)."""
    peak = max((sum(s[i] for s in series.values()) for i in range(len(starts))), default=0)
    width = CHART_WIDTH / len(starts)
    bars = []
    for i, start in enumerate(starts):
        y = float(CHART_HEIGHT)
        rects: list[dict[str, Any]] = []
        for variant in order:
            n = series.get(variant, [0] * len(starts))[i]
            if not n:
                continue
            h = CHART_HEIGHT * n / peak
            y -= h
            rects.append(
                {
                    "y": round(y, 2),
                    "h": round(h, 2),
                    "variant": variant,
                    "n": n,
                    "series": order.index(variant) % SERIES_COLOURS,
                }
            )
        label = start.strftime("%Y-%m-%d" if _daily(starts) else "%Y-%m-%d %H:00")
        bars.append(
            {
                "x": round(i * width + 1, 2),
                "w": round(max(width - 2, 1), 2),
                "label": label,
                "rects": rects,
                "total": sum(r["n"] for r in rects),
            }
        )
    return {"bars": bars, "peak": peak, "width": CHART_WIDTH, "height": CHART_HEIGHT}


def _format(metric: Metric, value: float | None) -> str:
    if value is None:
        return "—"
    if metric.format == "percent":
        return f"{value * 100:.1f} %"
    if metric.format == "ms":
        return f"{value:,.0f} ms"
    if metric.format == "usd":
        return f"${value:.4f}"
    return f"{value:.2f}"


def outcome_rows(
    outcomes: dict[str, dict[str, MetricValue]], order: list[str]
) -> list[dict[str, Any]]:
    rows = []
    for variant in order:
        values = outcomes.get(variant, {})
        cells = []
        for key in OUTCOME_METRICS:
            metric, mv = CATALOGUE[key], values.get(key)
            cells.append(
                {
                    "metric": metric,
                    "text": _format(metric, mv.value if mv else None),
                    "n": mv.n if mv else 0,
                }
            )
        rows.append(
            {"variant": variant, "series": order.index(variant) % SERIES_COLOURS, "cells": cells}
        )
    return rows


@login_required
def flag_usage_view(request: HttpRequest, key: str) -> HttpResponse:
    flag = get_flag(key)
    environments = list(Environment.objects.all())
    period = period_get(request.GET.get("period"))
    selected = next((e for e in environments if e.key == request.GET.get("env")), None) or (
        environments[0] if environments else None
    )
    now = timezone.now()
    starts = bucket_starts(period, now)
    usage = flag_usage(
        flag.key, environment_ids=[e.id for e in environments], period=period, now=now
    )
    seen = {v for u in usage.values() for v in u.series}
    outcomes = (
        outcomes_by_variant(
            environment_id=selected.id,
            flag_key=flag.key,
            since=starts[0],
            until=now + timedelta(seconds=1),
        )
        if selected
        else {}
    )
    order = _variant_order(flag, seen | set(outcomes))
    last = last_evaluated([flag.key])
    envs = []
    for env in environments:
        env_usage = usage.get(env.id)
        series = env_usage.series if env_usage else {}
        envs.append(
            {
                "env": env,
                "last": last.get((flag.key, env.id)),
                "total": env_usage.total if env_usage else 0,
                "variants": [
                    {"key": v, "n": sum(series.get(v, [])), "series": i % SERIES_COLOURS}
                    for i, v in enumerate(order)
                ],
                "chart": usage_chart(series, starts, order) if series else None,
            }
        )
    context = {
        "flag": flag,
        "tab": "usage",
        "row": flag_row(flag, environments, request.user, now),
        "environments": environments,
        "selected": selected,
        "period": period,
        "periods": PERIODS.values(),
        "first_bucket": starts[0],
        "daily": period.step >= timedelta(days=1),
        "envs": envs,
        "outcome_metrics": [CATALOGUE[k] for k in OUTCOME_METRICS],
        "outcomes": outcome_rows(outcomes, order),
    }
    return page(request, "flags/usage.html", context)
