"""The power / sample-size / minimum-detectable-effect calculator of the create form
(docs/experiments.md, "Planning"): the primary metric's observed mean and variance over the
environment's recent events (aggregate SQL through `baseline.baseline`), the units needed per
variant (`stats.sample_size`, TTestIndPower's definition) and, from the units exposed to the
flag per day, the days it takes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings

from . import baseline, stats
from .metrics import Metric


class PlanError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Plan:
    metric: Metric
    window_days: int
    observations: int  # events (request level) or units (user level) in the window
    mean: float
    sd: float  # per observation: sqrt(p(1 - p)) for a proportion, delta method for a ratio
    mde_relative: float
    effect: float  # absolute: mde_relative * |mean|
    alpha: float
    power: float
    variants: int
    units_per_variant: int | None
    daily_units: float  # units exposed to the flag per day in the window
    traffic_share: float
    days: int | None  # None without traffic

    @property
    def total_units(self) -> int | None:
        return None if self.units_per_variant is None else self.units_per_variant * self.variants


def observed(metric: Metric, moments: stats.Moments | stats.RatioMoments) -> tuple[float, float]:
    """(mean, SD per observation) of the metric from its baseline moments."""
    if isinstance(moments, stats.RatioMoments):
        return moments.ratio, math.sqrt(moments.n * moments.ratio_variance)
    if metric.kind == "proportion":
        return moments.mean, math.sqrt(moments.variance_binary)
    return moments.mean, math.sqrt(moments.variance)


def units_needed(*, mean: float, sd: float, mde_relative: float, alpha: float, power: float) -> int:
    """Control-arm units (each arm the same) to detect a relative change of `mde_relative`
    of `mean` with a two-sided two-sample t-test (statsmodels' TTestIndPower), rounded up."""
    effect = mde_relative * abs(mean)
    return math.ceil(stats.sample_size(effect=effect, sd=sd, alpha=alpha, power=power))


def plan(
    *,
    environment_id: int,
    flag_key: str,
    metric: Metric,
    alpha: float,
    power: float,
    mde_relative: float,
    variants: int,
    traffic_share: float,
    now: datetime,
) -> Plan:
    days = int(settings.FLAGSITE_PLANNING_WINDOW_DAYS)
    since = now - timedelta(days=days)
    try:
        moments = baseline.baseline(environment_id, metric, since, now)
    except ValueError as exc:
        raise PlanError("primary_metric", str(exc)) from exc
    mean, sd = observed(metric, moments)
    per_day = baseline.daily_units(environment_id, flag_key, since, now)
    units: int | None = None
    if moments.n >= 2 and mean and sd > 0:
        units = units_needed(mean=mean, sd=sd, mde_relative=mde_relative, alpha=alpha, power=power)
    needed_days: int | None = None
    if units is not None and per_day * traffic_share > 0:
        needed_days = math.ceil(units * variants / (per_day * traffic_share))
    return Plan(
        metric=metric,
        window_days=days,
        observations=moments.n,
        mean=mean,
        sd=sd,
        mde_relative=mde_relative,
        effect=mde_relative * abs(mean),
        alpha=alpha,
        power=power,
        variants=variants,
        units_per_variant=units,
        daily_units=per_day,
        traffic_share=traffic_share,
        days=needed_days,
    )
