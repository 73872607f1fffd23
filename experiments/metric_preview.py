"""The Metrics page's live preview: a metric's value over the last `PREVIEW_DAYS` days in one
environment, over every event there (no experiment, no variants), by the same aggregate SQL
as the create form's power calculator (`baseline.baseline`); quantiles by one ranked query.
Bounded like every metric query: one environment, a time window on the (environment,
timestamp) indexes, allow-listed fields only."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from django.db.models import F, FloatField
from django.db.models.functions import Cast

from feedback.models import FeedbackQuerySet

from . import baseline, event_rows, stats
from .metrics import Metric

PREVIEW_DAYS = 7


@dataclass(frozen=True)
class Preview:
    metric: Metric
    days: int
    value: float | None
    n: int  # events (request level, quantiles) or units (user level)


def _quantile(metric: Metric, environment_id: int, since: datetime, until: datetime) -> Preview:
    model = event_rows.MODELS[metric.source]
    rows: Any = model.objects.filter(
        environment_id=environment_id, timestamp__gte=since, timestamp__lt=until
    ).exclude(user_key="")
    if metric.source == "feedback":
        rows = cast(FeedbackQuerySet, rows).current()
    value = F(metric.value) if isinstance(metric.value, str) else metric.value
    rows = rows.filter(metric.where).annotate(v=Cast(value, FloatField())).exclude(v=None)
    n = rows.count()
    if not n:
        return Preview(metric, PREVIEW_DAYS, None, 0)
    k = max(1, math.ceil(float(metric.quantile or 0.5) * n))  # nearest rank, as experiments
    found = rows.order_by("v").values_list("v", flat=True)[k - 1 : k]
    return Preview(metric, PREVIEW_DAYS, float(next(iter(found))), n)


def metric_preview(metric: Metric, *, environment_id: int, now: datetime) -> Preview:
    since = now - timedelta(days=PREVIEW_DAYS)
    if metric.kind == "quantile":
        return _quantile(metric, environment_id, since, now)
    moments = baseline.baseline(environment_id, metric, since, now)
    if isinstance(moments, stats.RatioMoments):
        value = moments.sum_x / moments.sum_y if moments.sum_y else None
        return Preview(metric, PREVIEW_DAYS, value, moments.n)
    return Preview(metric, PREVIEW_DAYS, moments.mean if moments.n else None, moments.n)
