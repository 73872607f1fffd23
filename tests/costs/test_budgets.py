"""Budgets on simulated traffic with known totals: thresholds alert once per period, forecasts,
scopes, the costs time zone, and two checkers at once."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.db import connection

from alerts.models import Alert
from costs.budgets import budget_status, budgets_check, period_bounds
from costs.models import Budget, BudgetCrossing
from feedback.models import Exposure
from flags.models import Environment
from tests.services import postgres_url

from .traffic import call, store

pytestmark = pytest.mark.django_db

# Tuesday 2026-11-10 12:00 UTC: day 10 of a 30-day month, half of the day gone.
NOW = datetime(2026, 11, 10, 12, 0, tzinfo=UTC)
MONTH_START = datetime(2026, 11, 1, tzinfo=UTC)


@pytest.fixture
def env(db: Any) -> Environment:
    return Environment.objects.create(key="production", name="Production", is_production=True)


def _spend(
    env: Environment, total: str, *, when: datetime = NOW - timedelta(hours=1), **fields: Any
) -> None:
    store([call(env, when, total, **fields)])


def _budget(**fields: Any) -> Budget:
    defaults: dict[str, Any] = {"name": "LLM", "amount_usd": Decimal("100"), "period": "month"}
    return Budget.objects.create(**{**defaults, **fields})


def _alerts() -> list[tuple[str, str]]:
    return sorted(Alert.objects.filter(source="budget").values_list("severity", "dedupe_key"))


def test_thresholds_alert_once_per_period(env: Environment) -> None:
    budget = _budget(forecast=False)
    # Given $79.99 spent this month (and $500 last month, which does not count)
    _spend(env, "79.99")
    _spend(env, "500", when=MONTH_START - timedelta(seconds=1))
    assert budgets_check(now=NOW) == {"checked": 1, "alerts": 0}
    # When spend reaches exactly 80 %
    _spend(env, "0.01")
    assert budget_status(budget, now=NOW).spend == Decimal("80")
    assert budgets_check(now=NOW)["alerts"] == 1
    # Then one warning, and no repeat on later runs
    for minutes in (5, 10, 15):
        assert budgets_check(now=NOW + timedelta(minutes=minutes))["alerts"] == 0
    key = f"budget:{budget.pk}:2026-11-01T00:00:00+00:00"
    assert _alerts() == [("warning", f"{key}:warning")]
    # At 100 %: critical, once
    _spend(env, "20")
    assert budgets_check(now=NOW)["alerts"] == 1
    assert budgets_check(now=NOW)["alerts"] == 0
    assert _alerts() == [("critical", f"{key}:critical"), ("warning", f"{key}:warning")]
    # Even after a person resolves the alerts, the same period does not alert again
    Alert.objects.update(status="resolved")
    assert budgets_check(now=NOW + timedelta(hours=1))["alerts"] == 0
    # A new month starts from zero: nothing until its own spend crosses
    december = datetime(2026, 12, 2, tzinfo=UTC)
    assert budgets_check(now=december)["alerts"] == 0
    _spend(env, "85", when=december - timedelta(hours=1))
    assert budgets_check(now=december)["alerts"] == 1
    assert (
        BudgetCrossing.objects.filter(period_start=datetime(2026, 12, 1, tzinfo=UTC)).count() == 1
    )


def test_a_forecast_warns_when_the_rate_would_cross_100_percent(env: Environment) -> None:
    budget = _budget()
    # $40 in the first 9.5 days of a 30-day month: $126.32 at this rate, 40 % used so far
    _spend(env, "40")
    status = budget_status(budget, now=NOW)
    assert status.percent == pytest.approx(40)
    assert status.projected == (Decimal(40) * 30 / Decimal("9.5")).quantize(Decimal("1e-10"))
    assert status.crossed() == ["forecast"]
    assert budgets_check(now=NOW)["alerts"] == 1
    [alert] = Alert.objects.filter(source="budget")
    assert alert.severity == "warning" and alert.dedupe_key.endswith(":forecast")
    assert "$126.32" in alert.title
    # Too early in the period to extrapolate: 30 minutes into a day
    day = _budget(name="daily", period="day", amount_usd=Decimal("10"))
    status = budget_status(day, now=datetime(2026, 11, 10, 0, 30, tzinfo=UTC))
    assert status.projected is None and status.crossed() == []


def test_a_slow_month_gets_no_forecast(env: Environment) -> None:
    _budget()
    _spend(env, "20")  # $63 at this rate
    assert budgets_check(now=NOW)["alerts"] == 0


def test_scopes_count_only_their_calls(env: Environment) -> None:
    staging = Environment.objects.create(key="staging", name="Staging")
    when = NOW - timedelta(hours=2)
    store(
        [
            call(env, when, "10", feature="search", model="gpt-4o", user_tier="free"),
            call(env, when, "20", feature="chat", model="gpt-4", user_tier="pro", user_key="u1"),
            call(
                env,
                when,
                "40",
                feature="chat",
                model="gpt-4o",
                user_tier="pro",
                flags={"llm-model": "b"},
            ),
            call(staging, when, "80", feature="chat", model="gpt-4", user_tier="pro"),
            call(env, when, None, feature="chat", model="mystery"),  # no price: no cost
        ]
    )
    # u1 was assigned variant "a" of llm-model by its first exposure (attribution rule)
    Exposure.objects.create(
        environment=env,
        event_id="e1",
        timestamp=when - timedelta(days=1),
        received_at=when,
        flag_key="llm-model",
        variant_key="a",
        user_key="u1",
    )
    cases = {
        _budget(name="all"): "150",
        _budget(name="prod", environment=env): "70",
        _budget(name="chat", scope="feature", scope_value="chat"): "140",
        _budget(name="gpt-4", scope="model", scope_value="gpt-4"): "100",
        _budget(name="free", scope="user_tier", scope_value="free"): "10",
        _budget(name="b", scope="variant", flag_key="llm-model", scope_value="b"): "40",
        _budget(name="a", scope="variant", flag_key="llm-model", scope_value="a"): "20",
    }
    for budget, expected in cases.items():
        assert budget_status(budget, now=NOW).spend == Decimal(expected), budget.name


def test_periods_follow_the_configured_time_zone(env: Environment, settings: Any) -> None:
    settings.FLAGSITE_COSTS_TIME_ZONE = "Europe/Berlin"
    berlin = ZoneInfo("Europe/Berlin")
    # 23:30 UTC on Nov 30 is 00:30 on Dec 1 in Berlin: December's first call
    now = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    start, end = period_bounds("month", now)
    assert start == datetime(2026, 12, 1, tzinfo=berlin) == datetime(2026, 11, 30, 23, tzinfo=UTC)
    assert end == datetime(2027, 1, 1, tzinfo=berlin)
    budget = _budget(period="day", amount_usd=Decimal("10"))
    _spend(env, "3", when=datetime(2026, 11, 30, 23, 30, tzinfo=UTC))
    _spend(env, "5", when=datetime(2026, 11, 30, 22, 30, tzinfo=UTC))  # Nov 30 in Berlin
    assert budget_status(budget, now=now).spend == Decimal("3")
    # The day the clocks go forward has 23 hours, the day they go back 25
    spring = period_bounds("day", datetime(2026, 3, 29, 12, tzinfo=UTC))
    autumn = period_bounds("day", datetime(2026, 10, 25, 12, tzinfo=UTC))
    assert spring[1] - spring[0] == timedelta(hours=23)
    assert autumn[1] - autumn[0] == timedelta(hours=25)


def test_disabled_budgets_are_not_checked(env: Environment) -> None:
    _budget(enabled=False)
    _spend(env, "500")
    assert budgets_check(now=NOW) == {"checked": 0, "alerts": 0}


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_two_checkers_at_once_raise_each_alert_once() -> None:
    postgres_url()
    assert connection.vendor == "postgresql"
    env = Environment.objects.create(key="production", name="Production")
    budgets = [_budget(name=f"b{i}", forecast=False) for i in range(5)]
    _spend(env, "100")
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []
    raised: list[int] = []

    def check() -> None:
        try:
            barrier.wait(timeout=30)
            raised.append(budgets_check(now=NOW)["alerts"])
        except BaseException as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=check) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    # 5 budgets x (warning + critical), whichever checker got there first
    assert sum(raised) == 10
    assert Alert.objects.filter(source="budget").count() == 10
    assert BudgetCrossing.objects.count() == 10
    assert {c.budget_id for c in BudgetCrossing.objects.all()} == {b.pk for b in budgets}
