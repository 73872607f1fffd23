"""The sufficient statistics of a metric over every event of an environment in a window,
without an experiment, and the environment's daily units of a flag: what the create form's
power calculator (experiments/planning.py) and the metric preview (experiments/metric_preview.py)
plan with. The same per-event rows as the experiments' families (experiments/event_rows.py).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from feedback.models import Exposure

from . import event_rows, stats
from .event_rows import per_event
from .metrics import Metric
from .sufficient import _f, _fetch


def baseline(
    environment_id: int, metric: Metric, since: datetime, until: datetime
) -> stats.Moments | stats.RatioMoments:
    """The metric's sufficient statistics over every event of the environment in the window,
    without experiment (the power calculator's observed variance): Moments over events for
    request-level means and proportions, RatioMoments over events for request-level ratios and
    over units (x = sum of values, y = events or denominators per unit) for user-level metrics.
    Quantile and retention metrics have no such moments (ValueError)."""
    if metric.kind == "quantile" or metric.retention_days:
        raise ValueError(f"{metric.name} has no mean and variance to plan with")
    columns: dict[str, Any] = {"xv0": per_event(metric, "value", "xv0")}
    if metric.kind == "ratio" or metric.unit == "user":
        columns["xd0"] = per_event(metric, "denominator", "xd0")
    inner, params = event_rows.events(metric.source, environment_id, since, until, columns)
    if metric.unit == "user":
        sql = (
            "SELECT COUNT(*), SUM(x), SUM(x * x), SUM(y), SUM(y * y), SUM(x * y) FROM ("
            "SELECT e.xu AS unit, COALESCE(SUM(e.xv0), 0) AS x, COALESCE(SUM(e.xd0), 0) AS y "
            f"FROM ({inner}) e GROUP BY e.xu) u WHERE y > 0"
        )
    elif metric.kind == "ratio":
        sql = (
            "SELECT SUM(CASE WHEN e.xv0 IS NOT NULL THEN 1 ELSE 0 END), SUM(e.xv0), "
            "SUM(e.xv0 * e.xv0), SUM(e.xd0), SUM(e.xd0 * e.xd0), SUM(e.xv0 * e.xd0) "
            f"FROM ({inner}) e"
        )
    else:
        sql = (
            "SELECT SUM(CASE WHEN e.xv0 IS NOT NULL THEN 1 ELSE 0 END), SUM(e.xv0), "
            f"SUM(e.xv0 * e.xv0) FROM ({inner}) e"
        )
    row = _fetch(sql, params)[0]
    if len(row) == 3:
        return stats.Moments(n=int(row[0] or 0), sum=_f(row[1]), sum_sq=_f(row[2]))
    n, sx, sx2, sy, sy2, sxy = row
    return stats.RatioMoments(
        n=int(n or 0), sum_x=_f(sx), sum_x2=_f(sx2), sum_y=_f(sy), sum_y2=_f(sy2), sum_xy=_f(sxy)
    )


def daily_units(environment_id: int, flag_key: str, since: datetime, until: datetime) -> float:
    """Distinct units exposed to the flag in the environment per day over the window."""
    days = max((until - since).total_seconds() / 86400.0, 1e-9)
    units = (
        Exposure.objects.filter(
            environment_id=environment_id,
            flag_key=flag_key,
            timestamp__gte=since,
            timestamp__lt=until,
        )
        .exclude(user_key="")
        .values("user_key")
        .distinct()
        .count()
    )
    return units / days
