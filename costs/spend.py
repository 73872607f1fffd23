"""Spend by aggregate SQL: every number on the cost page, and what budgets and anomalies read.

All of it is `GROUP BY` over `feedback.LlmCall` (the cost stored at ingestion), on PostgreSQL
and SQLite alike; only the grouped rows come back to Python. Cost per query and tokens per query
are the metric catalogue's ratio metrics (`experiments.metrics`), and a flag variant is the one
`experiments.attribution` assigns, so these pages agree with the flag page and experiments.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Count, F, FloatField, Q, QuerySet, Sum, Value
from django.db.models.functions import Cast, Coalesce, TruncDay, TruncHour

from experiments.attribution import llm_call_variant
from experiments.metrics import COST_PER_CALL, TOKENS_PER_CALL, Metric
from feedback.models import LlmCall

# The cost page's groupings: the label people read and the per-call expression.
GROUPINGS: dict[str, str] = {
    "model": "Model",
    "feature": "Feature",
    "user_tier": "User tier",
    "environment": "Environment",
    "variant": "Flag variant",
}
NONE_LABEL = "(none)"
ZERO = Decimal(0)


def calls_in(
    *,
    since: datetime,
    until: datetime,
    environment_id: int | None = None,
    where: Q | None = None,
) -> QuerySet[LlmCall]:
    """LLM calls with since <= timestamp < until (one environment, or all)."""
    rows = LlmCall.objects.filter(timestamp__gte=since, timestamp__lt=until)
    if environment_id is not None:
        rows = rows.filter(environment_id=environment_id)
    return rows.filter(where) if where is not None else rows


def group_expression(grouping: str, flag_key: str = "") -> Any:
    if grouping == "environment":
        return F("environment__key")
    if grouping == "variant":
        return llm_call_variant(flag_key)
    if grouping in GROUPINGS:
        return F(grouping)
    raise ValueError(f"unknown grouping {grouping!r}")


def _ratio(metric: Metric) -> dict[str, Any]:
    """A catalogue ratio metric's numerator and denominator as aggregates (kind `ratio`)."""
    assert metric.kind == "ratio", metric.key
    value = F(metric.value) if isinstance(metric.value, str) else metric.value
    den = Value(1.0) if metric.denominator is None else metric.denominator
    return {
        f"{metric.key}__num": Sum(Cast(value, FloatField()), filter=metric.where),
        f"{metric.key}__den": Sum(den, filter=metric.where, output_field=FloatField()),
    }


def _ratio_value(row: Mapping[str, Any], metric: Metric) -> float | None:
    num, den = row.get(f"{metric.key}__num"), row.get(f"{metric.key}__den")
    return float(num) / float(den) if den and num is not None else None


def _totals() -> dict[str, Any]:
    return {
        "cost": Coalesce(Sum("cost_usd"), Value(ZERO)),
        "calls": Count("id"),
        "unpriced": Count("id", filter=Q(cost_usd__isnull=True)),
        # Aliases differ from the field names: Django would read them as the aggregates.
        "sum_prompt": Coalesce(Sum("prompt_tokens"), 0),
        "sum_completion": Coalesce(Sum("completion_tokens"), 0),
        "sum_cached": Coalesce(Sum("cached_input_tokens"), 0),
        **_ratio(COST_PER_CALL),
        **_ratio(TOKENS_PER_CALL),
    }


@dataclass(frozen=True)
class Totals:
    cost: Decimal
    calls: int
    unpriced: int  # calls of a model without a price (cost unknown, left out of `cost`)
    prompt_tokens: int
    completion_tokens: int
    cached_input_tokens: int
    cost_per_call: float | None  # catalogue: cost_per_call
    tokens_per_call: float | None  # catalogue: tokens_per_call

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Totals:
        return cls(
            cost=Decimal(row["cost"] or 0),
            calls=int(row["calls"] or 0),
            unpriced=int(row["unpriced"] or 0),
            prompt_tokens=int(row["sum_prompt"] or 0),
            completion_tokens=int(row["sum_completion"] or 0),
            cached_input_tokens=int(row["sum_cached"] or 0),
            cost_per_call=_ratio_value(row, COST_PER_CALL),
            tokens_per_call=_ratio_value(row, TOKENS_PER_CALL),
        )


def spend_totals(calls: QuerySet[LlmCall]) -> Totals:
    return Totals.from_row(calls.aggregate(**_totals()))


@dataclass(frozen=True)
class GroupRow:
    key: str
    totals: Totals
    previous_cost: Decimal  # the same group's cost in the previous period

    @property
    def change(self) -> float | None:
        """Relative change against the previous period (None when it had no spend)."""
        if not self.previous_cost:
            return None
        return float((self.totals.cost - self.previous_cost) / self.previous_cost)


def spend_by_group(
    calls: QuerySet[LlmCall],
    previous: QuerySet[LlmCall],
    *,
    grouping: str,
    flag_key: str = "",
) -> list[GroupRow]:
    """Totals per group (most expensive first), each with its previous-period cost."""
    expr = group_expression(grouping, flag_key)
    rows = calls.annotate(group=expr).values("group").annotate(**_totals()).order_by()
    before = {
        r["group"]: Decimal(r["cost"] or 0)
        for r in previous.annotate(group=expr)
        .values("group")
        .annotate(cost=Coalesce(Sum("cost_usd"), Value(ZERO)))
        .order_by()
    }
    out = [
        GroupRow(
            key=r["group"] or NONE_LABEL,
            totals=Totals.from_row(r),
            previous_cost=before.get(r["group"], ZERO),
        )
        for r in rows
    ]
    return sorted(out, key=lambda g: (-g.totals.cost, g.key))


def spend_series(
    calls: QuerySet[LlmCall],
    *,
    starts: list[datetime],
    grouping: str,
    flag_key: str = "",
) -> dict[str, list[Decimal]]:
    """{group: [cost per bucket]} for UTC hour or day buckets starting at `starts`."""
    daily = len(starts) < 2 or starts[1] - starts[0] >= timedelta(days=1)
    trunc = TruncDay if daily else TruncHour
    rows = (
        calls.annotate(
            bucket=trunc("timestamp", tzinfo=UTC), group=group_expression(grouping, flag_key)
        )
        .values("bucket", "group")
        .annotate(cost=Coalesce(Sum("cost_usd"), Value(ZERO)))
        .order_by()
    )
    index = {start: i for i, start in enumerate(starts)}
    series: dict[str, list[Decimal]] = {}
    for r in rows:
        i = index.get(r["bucket"])
        if i is None:
            continue
        key = r["group"] or NONE_LABEL
        series.setdefault(key, [ZERO] * len(starts))[i] += Decimal(r["cost"])
    return series


@dataclass(frozen=True)
class TopRow:
    key: str
    cost: Decimal
    calls: int
    tokens: int


def top_spenders(calls: QuerySet[LlmCall], field: str, *, limit: int = 10) -> list[TopRow]:
    """The `limit` conversations (`conversation_id`) or users (`user_key`) that cost most."""
    if field not in ("conversation_id", "user_key"):
        raise ValueError(field)
    rows = (
        calls.exclude(**{field: ""})
        .values(field)
        .annotate(
            cost=Coalesce(Sum("cost_usd"), Value(ZERO)),
            calls=Count("id"),
            tokens=Coalesce(Sum("prompt_tokens"), 0) + Coalesce(Sum("completion_tokens"), 0),
        )
        .order_by("-cost", field)[:limit]
    )
    return [TopRow(r[field], Decimal(r["cost"]), r["calls"], r["tokens"]) for r in rows]


def spend_sum(calls: QuerySet[LlmCall]) -> Decimal:
    return Decimal(calls.aggregate(cost=Coalesce(Sum("cost_usd"), Value(ZERO)))["cost"])


def spend_windows(
    calls: QuerySet[LlmCall], windows: Iterable[tuple[datetime, datetime]]
) -> list[Decimal]:
    """The cost in each [start, end) window, all in one query (one filtered SUM per window)."""
    windows = list(windows)
    sums = {
        f"w{i}": Coalesce(
            Sum("cost_usd", filter=Q(timestamp__gte=start, timestamp__lt=end)), Value(ZERO)
        )
        for i, (start, end) in enumerate(windows)
    }
    row = calls.aggregate(**sums)
    return [Decimal(row[f"w{i}"]) for i in range(len(windows))]
