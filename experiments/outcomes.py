"""Per-variant outcomes of a flag: each catalogue metric's value per variant over a period, by
aggregate SQL (GROUP BY the attributed variant), on PostgreSQL and SQLite alike.

One aggregate query per event source computes every mean / proportion / ratio metric and the
row counts; quantiles need their own query: on PostgreSQL one `percentile_disc(q) WITHIN GROUP`
per metric, grouped by variant; SQLite has no percentile aggregate, so there it is one
`ORDER BY value LIMIT 1 OFFSET k-1` query per variant (k = ceil(q * n), the nearest rank that
percentile_disc also returns, so both databases give the same number).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from django.db import connection
from django.db.models import Aggregate, Count, F, FloatField, QuerySet, Sum, Value
from django.db.models.functions import Cast

from feedback.models import Feedback, FeedbackQuerySet, LlmCall, Score

from .attribution import attributed
from .metrics import OUTCOME_METRICS, Metric, metric_get

SOURCES: dict[str, type[LlmCall] | type[Feedback] | type[Score]] = {
    "llm_call": LlmCall,
    "feedback": Feedback,
    "score": Score,
}


class PercentileDisc(Aggregate):
    """PostgreSQL's nearest-rank percentile (an ordered-set aggregate)."""

    function = "percentile_disc"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()


@dataclass(frozen=True)
class MetricValue:
    value: float | None  # None: no events
    n: int  # events the value is computed from


def _expr(value: Any) -> Any:
    return Cast(F(value) if isinstance(value, str) else value, FloatField())


def _events(
    source: str, *, environment_id: int, flag_key: str, since: datetime, until: datetime
) -> QuerySet:
    model = SOURCES[source]
    rows: QuerySet = model.objects.filter(
        environment_id=environment_id, timestamp__gte=since, timestamp__lt=until
    )
    if model is Feedback:
        # Only current votes: a changed vote counts once, as in experiments/sufficient.py.
        rows = cast(FeedbackQuerySet, rows).current()
    return attributed(rows, flag_key).exclude(variant=None)


def _aggregates(metric: Metric) -> dict[str, Any]:
    n = Count("id", filter=metric.where)
    if metric.kind == "quantile":
        return {f"{metric.key}__n": n}
    if metric.kind == "ratio":
        den = Value(1.0) if metric.denominator is None else _expr(metric.denominator)
        return {
            f"{metric.key}__num": Sum(_expr(metric.value), filter=metric.where),
            f"{metric.key}__den": Sum(den, filter=metric.where, output_field=FloatField()),
            f"{metric.key}__n": n,
        }
    return {
        f"{metric.key}__num": Sum(_expr(metric.value), filter=metric.where),
        f"{metric.key}__den": n,
        f"{metric.key}__n": n,
    }


def _quantiles(metric: Metric, events: QuerySet, counts: dict[str, int]) -> dict[str, float]:
    rows = events.filter(metric.where)
    q = float(metric.quantile or 0.5)
    if connection.vendor == "postgresql":
        grouped = rows.values("variant").annotate(p=PercentileDisc(_expr(metric.value), fraction=q))
        return {r["variant"]: r["p"] for r in grouped.order_by()}
    out: dict[str, float] = {}
    for variant, n in counts.items():
        if n:
            k = max(1, math.ceil(q * n))
            value = (
                rows.filter(variant=variant)
                .annotate(v=_expr(metric.value))
                .order_by("v")
                .values_list("v", flat=True)[k - 1 : k]
            )
            out[variant] = float(next(iter(value)))
    return out


def outcomes_by_variant(
    *,
    environment_id: int,
    flag_key: str,
    since: datetime,
    until: datetime,
    metric_keys: tuple[str, ...] = OUTCOME_METRICS,
) -> dict[str, dict[str, MetricValue]]:
    """{variant: {metric key: MetricValue}} for the variants that have events in the period."""
    metrics = [metric_get(k) for k in metric_keys]
    out: dict[str, dict[str, MetricValue]] = {}
    for source in SOURCES:
        chosen = [m for m in metrics if m.source == source]
        if not chosen:
            continue
        events = _events(
            source, environment_id=environment_id, flag_key=flag_key, since=since, until=until
        )
        aggregates: dict[str, Any] = {}
        for metric in chosen:
            aggregates.update(_aggregates(metric))
        rows = list(events.values("variant").annotate(**aggregates).order_by())
        for metric in chosen:
            counts = {r["variant"]: int(r[f"{metric.key}__n"] or 0) for r in rows}
            quantiles = _quantiles(metric, events, counts) if metric.kind == "quantile" else {}
            for r in rows:
                n = counts[r["variant"]]
                if metric.kind == "quantile":
                    value = quantiles.get(r["variant"])
                else:
                    num, den = r[f"{metric.key}__num"], r[f"{metric.key}__den"]
                    value = float(num) / float(den) if den and num is not None else None
                out.setdefault(r["variant"], {})[metric.key] = MetricValue(
                    None if n == 0 else value, n
                )
    return out
