"""The metric catalogue: the product's one list of metric definitions (docs/experiments.md).

The flag page's per-variant outcomes read it now; experiments, rollout health gates and cost
pages read the same definitions (issue 12 adds the rest of the catalogue here, in this shape).

A metric is declared by:
- `kind`: `mean` (average of a per-event value), `proportion` (mean of a 0/1 value),
  `ratio` (sum of `value` / sum of `denominator`, e.g. cost per call), `quantile` (the
  `quantile`-th value, nearest rank);
- `unit`: the randomisation unit its statistics treat as independent: `user` (the targeting
  key) or `request` (one LLM call / one response);
- `direction`: `higher` or `lower` is better;
- `source`: the event table it reads (`llm_call`, `feedback`), attributed to variants by
  `experiments.attribution`; `where`: which of those events count; `value` (and
  `denominator` for ratios): per-event expressions;
- `reads`: the event fields it depends on, for people (docs, the metric picker).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from django.db.models import Case, F, Q, Value, When
from django.db.models import FloatField as _Float

Kind = Literal["mean", "proportion", "ratio", "quantile"]
Unit = Literal["user", "request"]
Direction = Literal["higher", "lower"]
Source = Literal["llm_call", "feedback"]
Format = Literal["percent", "number", "ms", "usd"]


@dataclass(frozen=True)
class Metric:
    key: str
    name: str
    kind: Kind
    unit: Unit
    direction: Direction
    source: Source
    value: Any  # a field name or a query expression, evaluated per event
    where: Q = field(default_factory=Q)
    denominator: Any = None  # ratio metrics only; None: one per event
    quantile: float | None = None  # quantile metrics only
    format: Format = "number"
    reads: tuple[str, ...] = ()
    description: str = ""


def _flag(condition: Q) -> Case:
    return Case(When(condition, then=Value(1.0)), default=Value(0.0), output_field=_Float())


THUMBS_UP_RATE = Metric(
    key="thumbs_up_rate",
    name="Thumbs-up rate",
    kind="proportion",
    unit="request",
    direction="higher",
    source="feedback",
    value=_flag(Q(type="thumbs_up")),
    where=Q(type__in=["thumbs_up", "thumbs_down"]),
    format="percent",
    reads=("feedback.type",),
    description="Thumbs-up votes / all thumbs votes.",
)
MEAN_RATING = Metric(
    key="mean_rating",
    name="Mean rating",
    kind="mean",
    unit="user",
    direction="higher",
    source="feedback",
    value="rating",
    where=Q(rating__isnull=False),
    reads=("feedback.rating",),
    description="User satisfaction: the mean 1-5 rating of feedback that carries one.",
)
ERROR_RATE = Metric(
    key="error_rate",
    name="Error rate",
    kind="proportion",
    unit="request",
    direction="lower",
    source="llm_call",
    value=_flag(Q(error=True)),
    format="percent",
    reads=("llm_call.error",),
    description="LLM calls that reported an error / all LLM calls.",
)
P95_LATENCY = Metric(
    key="p95_latency_ms",
    name="P95 latency",
    kind="quantile",
    unit="request",
    direction="lower",
    source="llm_call",
    value="latency_ms",
    where=Q(latency_ms__isnull=False),
    quantile=0.95,
    format="ms",
    reads=("llm_call.latency_ms",),
    description="95th percentile (nearest rank) of total latency of calls that report it.",
)
COST_PER_CALL = Metric(
    key="cost_per_call",
    name="Cost per call",
    kind="ratio",
    unit="request",
    direction="lower",
    source="llm_call",
    value="cost_usd",
    where=Q(cost_usd__isnull=False),
    format="usd",
    reads=("llm_call.cost_usd", "llm_call.model", "llm_call.*_tokens"),
    description="Sum of cost / priced calls (calls of a model without a price are left out).",
)

TOKENS_PER_CALL = Metric(
    key="tokens_per_call",
    name="Tokens per call",
    kind="ratio",
    unit="request",
    direction="lower",
    source="llm_call",
    value=F("prompt_tokens") + F("completion_tokens"),
    format="number",
    reads=("llm_call.prompt_tokens", "llm_call.completion_tokens"),
    description="Prompt + completion tokens / LLM calls (cached prompt tokens included).",
)
HALLUCINATION_RATE = Metric(
    key="hallucination_rate",
    name="Hallucination rate",
    kind="proportion",
    unit="request",
    direction="lower",
    source="llm_call",
    value=_flag(Q(hallucination=True)),
    where=Q(hallucination__isnull=False),
    format="percent",
    reads=("llm_call.hallucination",),
    description="LLM calls judged hallucinated / calls that carry a hallucination verdict.",
)
SAFETY_VIOLATION_RATE = Metric(
    key="safety_violation_rate",
    name="Safety-violation rate",
    kind="proportion",
    unit="request",
    direction="lower",
    source="llm_call",
    value=_flag(Q(safety_violation=True)),
    where=Q(safety_violation__isnull=False),
    format="percent",
    reads=("llm_call.safety_violation",),
    description="LLM calls flagged as safety violations / calls that carry a safety verdict.",
)

CATALOGUE: dict[str, Metric] = {
    m.key: m
    for m in (
        THUMBS_UP_RATE,
        MEAN_RATING,
        ERROR_RATE,
        P95_LATENCY,
        COST_PER_CALL,
        HALLUCINATION_RATE,
        SAFETY_VIOLATION_RATE,
        TOKENS_PER_CALL,
    )
}
# The flag page's outcomes table, in this order.
OUTCOME_METRICS: tuple[str, ...] = (
    "thumbs_up_rate",
    "mean_rating",
    "error_rate",
    "p95_latency_ms",
    "cost_per_call",
)


def metric_get(key: str) -> Metric:
    return CATALOGUE[key]
