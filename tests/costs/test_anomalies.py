"""Spend anomalies on simulated traffic with daily seasonality: quiet nights and busy
afternoons alert nobody; an injected spike does, once. The robust z-score is checked against
scipy."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from scipy import stats

from alerts.models import Alert
from costs.anomalies import MAD_TO_SIGMA, Z_THRESHOLD, anomalies_check, robust_z, spend_anomaly
from flags.models import Environment

from .traffic import call, hourly_mean_usd, seasonal_traffic, store

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 20, 15, 30, tzinfo=UTC)


@pytest.fixture
def env(db: Any) -> Environment:
    env = Environment.objects.create(key="production", name="Production")
    seasonal_traffic(env, until=NOW, days=15)
    return env


def test_the_robust_z_score_matches_scipy() -> None:
    baseline = [3.1, 2.9, 3.4, 3.0, 2.7, 3.3, 3.2, 2.8, 3.6, 3.05]
    median, sigma, z = robust_z(9.0, baseline)
    mad = stats.median_abs_deviation(baseline, scale="normal")
    assert median == pytest.approx(float(sorted(baseline)[4] + sorted(baseline)[5]) / 2)
    assert mad == pytest.approx(MAD_TO_SIGMA * stats.median_abs_deviation(baseline), rel=1e-4)
    assert sigma == pytest.approx(max(mad, 0.1 * median), rel=1e-4)
    assert z == pytest.approx((9.0 - median) / sigma, rel=1e-4)


def test_daily_seasonality_alone_raises_nothing(env: Environment) -> None:
    # Every hour of the last day, the quiet night (x7 cheaper) and the busy afternoon included
    for hours_back in range(24):
        now = NOW - timedelta(hours=hours_back)
        result = spend_anomaly(environment_id=env.pk, now=now)
        assert len(result.baseline) >= 7
        assert result.z is not None and result.z < Z_THRESHOLD, (now, result)
        assert not result.is_anomaly
    assert anomalies_check(now=NOW) == []
    assert not Alert.objects.exists()


def test_an_injected_spike_raises_one_alert(env: Environment) -> None:
    # Given five times the usual afternoon spend in the last hour (a runaway loop, say)
    extra = 4 * hourly_mean_usd(15)
    store([call(env, NOW - timedelta(minutes=m), f"{extra / 10:.4f}") for m in range(1, 60, 6)])
    # Then the same-hour baseline marks it, and one alert goes out however often the job runs
    result = spend_anomaly(environment_id=env.pk, now=NOW)
    assert result.is_anomaly and result.z is not None and result.z >= Z_THRESHOLD
    assert result.spend == pytest.approx(result.median * 5, rel=0.3)
    for minutes in (0, 5, 10):
        assert len(anomalies_check(now=NOW + timedelta(minutes=minutes))) == 1
    [alert] = Alert.objects.filter(source="anomaly")
    assert alert.severity == "warning" and "Production" in alert.title
    assert alert.dedupe_key == "anomaly:spend:production:2026-11-20T15:00:00+00:00"
    assert alert.details["baseline_usd"] and alert.details["z"] >= Z_THRESHOLD


def test_a_spike_below_the_minimum_spend_is_ignored(db: Any) -> None:
    env = Environment.objects.create(key="tiny", name="Tiny")
    # A tiny installation: a cent an hour, then 50 cents: huge z, but under $1
    store([call(env, NOW - timedelta(days=d, minutes=30), "0.01") for d in range(1, 15)])
    store([call(env, NOW - timedelta(minutes=10), "0.50")])
    result = spend_anomaly(environment_id=env.pk, now=NOW)
    assert result.z is not None and result.z >= Z_THRESHOLD
    assert not result.is_anomaly


def test_a_new_environment_has_no_baseline_yet(db: Any) -> None:
    env = Environment.objects.create(key="new", name="New")
    seasonal_traffic(env, until=NOW, days=3)
    store([call(env, NOW - timedelta(minutes=5), "500")])
    result = spend_anomaly(environment_id=env.pk, now=NOW)
    assert len(result.baseline) < 7 and not result.is_anomaly
