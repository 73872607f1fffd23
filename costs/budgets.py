"""Budgets: spend in the current day or month against an amount, and the alerts that says so
(docs/costs.md, "Budgets").

`budgets_check(now=...)` is what the beat job runs every 5 minutes. Each budget is checked in its
own transaction holding its row lock (`select_for_update(skip_locked=True)`: a second worker
skips a budget the first is checking); each threshold crossed writes a `BudgetCrossing` (unique
per budget, period and threshold) and raises its alert in the same transaction, so a threshold
alerts once per period, with one worker or ten.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from experiments.attribution import llm_call_variant
from feedback.models import LlmCall

from .alerting import alert_raise
from .models import Budget, BudgetCrossing, Period, Scope, Threshold
from .spend import calls_in, spend_sum

log = logging.getLogger(__name__)


def costs_time_zone() -> ZoneInfo:
    return ZoneInfo(settings.FLAGSITE_COSTS_TIME_ZONE)


def period_bounds(
    period: str, now: datetime, tz: ZoneInfo | None = None
) -> tuple[datetime, datetime]:
    """[start, end) of the day or month holding `now` in the costs time zone, as UTC datetimes
    (so a day the clocks change is 23 or 25 hours long, and durations are real durations)."""
    local = now.astimezone(tz or costs_time_zone())
    if period == Period.DAY:
        start = local.replace(hour=0, minute=0, second=0, microsecond=0)
        nxt = (start + timedelta(days=1, hours=12)).replace(hour=0)
    elif period == Period.MONTH:
        start = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        nxt = (start + timedelta(days=32)).replace(day=1)
    else:
        raise ValueError(f"unknown period {period!r}")
    return start.astimezone(UTC), nxt.astimezone(UTC)


def budget_calls(budget: Budget, *, since: datetime, until: datetime) -> QuerySet[LlmCall]:
    """The calls a budget counts."""
    calls = calls_in(since=since, until=until, environment_id=budget.environment_id)
    if budget.scope == Scope.ALL:
        return calls
    if budget.scope == Scope.VARIANT:
        return calls.annotate(variant=llm_call_variant(budget.flag_key)).filter(
            variant=budget.scope_value
        )
    return calls.filter(Q(**{budget.scope: budget.scope_value}))


@dataclass(frozen=True)
class BudgetStatus:
    budget: Budget
    period_start: datetime
    period_end: datetime
    spend: Decimal
    projected: Decimal | None  # at the current rate, by the end of the period

    @property
    def percent(self) -> float:
        return float(self.spend / self.budget.amount_usd * 100)

    @property
    def projected_percent(self) -> float | None:
        if self.projected is None:
            return None
        return float(self.projected / self.budget.amount_usd * 100)

    def crossed(self) -> list[str]:
        """The thresholds this status has crossed, most severe first."""
        out: list[str] = []
        if self.percent >= self.budget.critical_percent:
            out.append(Threshold.CRITICAL)
        if self.percent >= self.budget.warning_percent:
            out.append(Threshold.WARNING)
        if (
            self.budget.forecast
            and Threshold.CRITICAL not in out
            and self.projected_percent is not None
            and self.projected_percent >= 100
        ):
            out.append(Threshold.FORECAST)
        return out


# A forecast needs this share of the period behind it (1 hour of a day, ~1.3 days of a month):
# extrapolating the first minutes of a day would cry wolf on every morning's first call.
FORECAST_MIN_ELAPSED_SHARE = 1 / 24


def budget_status(budget: Budget, *, now: datetime) -> BudgetStatus:
    start, end = period_bounds(budget.period, now)
    spend = spend_sum(budget_calls(budget, since=start, until=now + timedelta(microseconds=1)))
    elapsed, length = (now - start).total_seconds(), (end - start).total_seconds()
    projected = None
    if elapsed >= length * FORECAST_MIN_ELAPSED_SHARE:
        projected = (spend * Decimal(length) / Decimal(elapsed)).quantize(Decimal("0.0000000001"))
    return BudgetStatus(budget, start, end, spend, projected)


def _dedupe_key(budget: Budget, period_start: datetime, threshold: str) -> str:
    return f"budget:{budget.pk}:{period_start.isoformat()}:{threshold}"


_SEVERITY = {
    Threshold.CRITICAL: "critical",
    Threshold.WARNING: "warning",
    Threshold.FORECAST: "warning",
}


def _alert_text(status: BudgetStatus, threshold: str) -> tuple[str, str]:
    b = status.budget
    amount = f"${b.amount_usd:,.2f}"
    spend = f"${status.spend:,.2f}"
    period = "today" if b.period == Period.DAY else "this month"
    if threshold == Threshold.FORECAST:
        title = f"Budget {b.name}: on course for ${status.projected:,.2f} of {amount} {period}"
        body = (
            f"{spend} spent so far ({status.percent:.1f} %); at the rate since "
            f"{status.period_start:%Y-%m-%d %H:%M %Z} the period ends at "
            f"{status.projected_percent:.0f} % of the budget."
        )
    else:
        limit = b.critical_percent if threshold == Threshold.CRITICAL else b.warning_percent
        title = f"Budget {b.name}: {spend} of {amount} {period} ({status.percent:.1f} %)"
        body = (
            f"Spend crossed the {limit} % {threshold} threshold (USD, costs computed at ingestion)."
        )
    return title, body


def budget_check(budget_id: int, *, now: datetime) -> list[str]:
    """Check one budget; returns the thresholds newly alerted. Idempotent."""
    raised: list[str] = []
    with transaction.atomic():
        budget = (
            Budget.objects.select_for_update(skip_locked=True)
            .filter(pk=budget_id, enabled=True)
            .first()
        )
        if budget is None:  # disabled, deleted, or being checked by another worker right now
            return raised
        status = budget_status(budget, now=now)
        for threshold in status.crossed():
            if _crossing_record(status, threshold):
                raised.append(threshold)
    return raised


def _crossing_record(status: BudgetStatus, threshold: str) -> bool:
    budget = status.budget
    key = _dedupe_key(budget, status.period_start, threshold)
    try:
        with transaction.atomic():
            BudgetCrossing.objects.create(
                budget=budget,
                period_start=status.period_start,
                threshold=threshold,
                spend_usd=status.spend,
                projected_usd=status.projected,
                dedupe_key=key,
            )
            title, body = _alert_text(status, threshold)
            alert_raise(
                source="budget",
                dedupe_key=key,
                severity=_SEVERITY[Threshold(threshold)],
                title=title,
                body=body,
                link=f"/costs/budgets/#budget-{budget.pk}",
                details={
                    "budget_id": budget.pk,
                    "threshold": threshold,
                    "period_start": status.period_start.isoformat(),
                    "spend_usd": str(status.spend),
                    "amount_usd": str(budget.amount_usd),
                    "projected_usd": None if status.projected is None else str(status.projected),
                },
                environment=budget.environment,
            )
    except IntegrityError:
        return False  # already crossed and alerted in this period
    return True


def budgets_check(*, now: datetime | None = None) -> dict[str, int]:
    """Check every enabled budget (the beat job). Returns counts for the log."""
    now = now or timezone.now()
    checked = alerts = 0
    for budget_id in Budget.objects.filter(enabled=True).values_list("pk", flat=True):
        alerts += len(budget_check(budget_id, now=now))
        checked += 1
    return {"checked": checked, "alerts": alerts}
