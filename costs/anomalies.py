"""Spend anomalies: the last hour's spend against the same hour of the previous days
(docs/costs.md, "Anomalies").

Method, per environment: x = spend in [now - 1 h, now); the baseline is the spend in the same
window on each of the previous `BASELINE_DAYS` days (same hour of day, so normal daily
seasonality is in the baseline), counting only days after the environment's first LLM call.
With median m and MAD (median absolute deviation) of the baseline, the robust z-score is
z = (x - m) / s with s = max(1.4826 * MAD, SIGMA_FLOOR_SHARE * m, SIGMA_FLOOR_USD) (1.4826
makes the MAD a standard deviation for normal data; the floors keep a perfectly regular
baseline from turning pennies into alarms). An alert needs all of: z >= Z_THRESHOLD,
x >= MIN_SPEND_USD, and at least MIN_BASELINE_DAYS baseline days. Every window sum is one
filtered SUM in a single aggregate query.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import Min
from django.utils import timezone

from feedback.models import LlmCall
from flags.models import Environment

from .alerting import alert_raise
from .spend import calls_in, spend_windows

BASELINE_DAYS = 14
MIN_BASELINE_DAYS = 7
Z_THRESHOLD = 5.0
MIN_SPEND_USD = 1.0
SIGMA_FLOOR_SHARE = 0.1
SIGMA_FLOOR_USD = 0.01
MAD_TO_SIGMA = 1.4826
WINDOW = timedelta(hours=1)


@dataclass(frozen=True)
class Anomaly:
    environment_id: int
    window_start: datetime
    window_end: datetime
    spend: float
    baseline: list[float]  # spend in the same window on each counted earlier day
    median: float
    sigma: float
    z: float | None  # None: not enough baseline days

    @property
    def is_anomaly(self) -> bool:
        return (
            self.z is not None
            and self.z >= Z_THRESHOLD
            and self.spend >= MIN_SPEND_USD
            and len(self.baseline) >= MIN_BASELINE_DAYS
        )


def robust_z(value: float, baseline: list[float]) -> tuple[float, float, float]:
    """(median, sigma, z) of `value` against `baseline` (median / scaled MAD, with floors)."""
    median = statistics.median(baseline)
    mad = statistics.median(abs(b - median) for b in baseline)
    sigma = max(MAD_TO_SIGMA * mad, SIGMA_FLOOR_SHARE * median, SIGMA_FLOOR_USD)
    return median, sigma, (value - median) / sigma


def spend_anomaly(*, environment_id: int, now: datetime) -> Anomaly:
    first = LlmCall.objects.filter(environment_id=environment_id).aggregate(t=Min("timestamp"))["t"]
    windows = [
        (now - WINDOW - timedelta(days=d), now - timedelta(days=d))
        for d in range(BASELINE_DAYS + 1)
    ]
    sums = spend_windows(
        calls_in(
            since=windows[-1][0],
            until=now + timedelta(microseconds=1),
            environment_id=environment_id,
        ),
        windows,
    )
    current = float(sums[0])
    # A day counts once the environment had calls before its window began.
    baseline = [
        float(total)
        for (start, _), total in zip(windows[1:], sums[1:], strict=True)
        if first is not None and first <= start
    ]
    if not baseline:
        return Anomaly(environment_id, windows[0][0], now, current, [], 0.0, 0.0, None)
    median, sigma, z = robust_z(current, baseline)
    return Anomaly(environment_id, windows[0][0], now, current, baseline, median, sigma, z)


def anomalies_check(*, now: datetime | None = None) -> list[Anomaly]:
    """Check every environment; raise one alert per environment and clock hour (dedupe key), so
    a spike noticed by six 5-minute runs is one alert. Returns the anomalies found."""
    now = now or timezone.now()
    found = []
    for env in Environment.objects.all():
        result = spend_anomaly(environment_id=env.pk, now=now)
        if not result.is_anomaly:
            continue
        found.append(result)
        hour = now.replace(minute=0, second=0, microsecond=0)
        with transaction.atomic():
            alert_raise(
                source="anomaly",
                dedupe_key=f"anomaly:spend:{env.key}:{hour.isoformat()}",
                severity="warning",
                title=(
                    f"Spend anomaly in {env.name}: ${result.spend:,.2f} in the last hour, "
                    f"usually ${result.median:,.2f}"
                ),
                body=(
                    f"Robust z-score {result.z:.1f} (threshold {Z_THRESHOLD:g}) against the same "
                    f"hour on {len(result.baseline)} earlier days: median ${result.median:,.2f}, "
                    f"scale ${result.sigma:,.2f} (USD)."
                ),
                link=f"/costs/?period=24h&env={env.key}",
                details={
                    "spend_usd": str(Decimal(str(result.spend))),
                    "median_usd": result.median,
                    "sigma_usd": result.sigma,
                    "z": result.z,
                    "baseline_usd": result.baseline,
                },
                environment=env,
            )
    return found
