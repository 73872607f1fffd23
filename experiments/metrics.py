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

from django.db.models import Case, Exists, F, OuterRef, Q, Value, When
from django.db.models import FloatField as _Float

from feedback.models import Category, Feedback, ImplicitSignal, LlmCall, Score, Signal

Kind = Literal["mean", "proportion", "ratio", "quantile"]
Unit = Literal["user", "request"]
Direction = Literal["higher", "lower"]
Source = Literal["llm_call", "feedback", "score", "implicit"]
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
    # Retention metrics only: a unit counts as retained when it makes an LLM call between
    # 1 day and this many days after its first exposure (computed per unit, experiments only).
    retention_days: int | None = None


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


# The experiment computation evaluates _judged, _first_of_conversation, _completed_conversation
# (and FeedbackQuerySet.current) as joins on aggregated sets, experiments/event_rows.py: change
# them together (tests/experiments/test_event_rows.py compares both).
def _judged(label: str, category: str) -> Q:
    """A call judged `label` by the call itself (its boolean field), by a `score` event named
    `label` on the same request (value >= 0.5), or by a thumbs-down on the same request whose
    category (the user's, or the inbox's triage) is `category`."""
    scored = Score.objects.filter(
        environment_id=OuterRef("environment_id"),
        request_id=OuterRef("request_id"),
        name=label,
        value__gte=0.5,
    ).exclude(request_id="")
    voted = (
        Feedback.objects.filter(
            environment_id=OuterRef("environment_id"),
            request_id=OuterRef("request_id"),
            type="thumbs_down",
        )
        .filter(Q(category=category) | Q(triage_category=category))
        .exclude(request_id="")
    )
    return Q(**{label: True}) | Q(Exists(scored)) | Q(Exists(voted))


def _first_of_conversation() -> Q:
    earlier = LlmCall.objects.filter(
        environment_id=OuterRef("environment_id"),
        conversation_id=OuterRef("conversation_id"),
    ).filter(
        Q(timestamp__lt=OuterRef("timestamp"))
        | Q(timestamp=OuterRef("timestamp"), pk__lt=OuterRef("pk"))
    )
    return ~Q(conversation_id="") & ~Q(Exists(earlier))


def _completed_conversation() -> Q:
    done = ImplicitSignal.objects.filter(
        environment_id=OuterRef("environment_id"),
        conversation_id=OuterRef("conversation_id"),
        signal=Signal.TASK_COMPLETED,
    )
    return Q(Exists(done))


SATISFACTION = MEAN_RATING  # "user satisfaction" in the issue: the mean 1-5 rating
TASK_COMPLETION = Metric(
    key="task_completion_rate",
    name="Task completion rate",
    kind="proportion",
    unit="user",
    direction="higher",
    source="llm_call",
    value=_flag(_completed_conversation()),
    where=~Q(conversation_id=""),
    format="percent",
    reads=("llm_call.conversation_id", "implicit.task_completed"),
    description="Calls in a conversation that got a task_completed signal / calls in a "
    "conversation.",
)
HALLUCINATION_RATE = Metric(
    key="hallucination_rate",
    name="Hallucination rate",
    kind="proportion",
    unit="request",
    direction="lower",
    source="llm_call",
    value=_flag(_judged("hallucination", Category.HALLUCINATION)),
    format="percent",
    reads=("llm_call.hallucination", "score[hallucination]", "feedback.category=hallucination"),
    description="Calls flagged as hallucinating by the call, a `hallucination` score >= 0.5 "
    "on the request or a thumbs-down categorised hallucination / calls.",
)
SAFETY_RATE = Metric(
    key="safety_violation_rate",
    name="Safety-violation rate",
    kind="proportion",
    unit="request",
    direction="lower",
    source="llm_call",
    value=_flag(_judged("safety_violation", Category.SAFETY)),
    format="percent",
    reads=("llm_call.safety_violation", "score[safety_violation]", "feedback.category=safety"),
    description="Calls flagged unsafe by the call, a `safety_violation` score >= 0.5 on the "
    "request or a thumbs-down categorised safety / calls.",
)
TTFT = Metric(
    key="ttft_ms",
    name="Time to first token",
    kind="mean",
    unit="request",
    direction="lower",
    source="llm_call",
    value="ttft_ms",
    where=Q(ttft_ms__isnull=False),
    format="ms",
    reads=("llm_call.ttft_ms",),
    description="Mean time to first token of calls that report it.",
)
MEAN_LATENCY = Metric(
    key="mean_latency_ms",
    name="Mean latency",
    kind="mean",
    unit="request",
    direction="lower",
    source="llm_call",
    value="latency_ms",
    where=Q(latency_ms__isnull=False),
    format="ms",
    reads=("llm_call.latency_ms",),
    description="Mean total latency of calls that report it.",
)
TOKENS_PER_QUERY = Metric(
    key="tokens_per_query",
    name="Tokens per query",
    kind="ratio",
    unit="user",
    direction="lower",
    source="llm_call",
    value=F("prompt_tokens") + F("completion_tokens"),
    reads=("llm_call.prompt_tokens", "llm_call.completion_tokens"),
    description="Prompt + completion tokens / calls, per user (delta method).",
)
COST_PER_QUERY = Metric(
    key="cost_per_query",
    name="Cost per query",
    kind="ratio",
    unit="user",
    direction="lower",
    source="llm_call",
    value="cost_usd",
    where=Q(cost_usd__isnull=False),
    format="usd",
    reads=("llm_call.cost_usd", "llm_call.model", "llm_call.*_tokens"),
    description="Sum of cost / priced calls, per user (delta method).",
)
QUERIES_PER_SESSION = Metric(
    key="queries_per_session",
    name="Queries per session",
    kind="ratio",
    unit="user",
    direction="higher",
    source="llm_call",
    value=Value(1.0),
    denominator=_flag(_first_of_conversation()),
    where=~Q(conversation_id=""),
    reads=("llm_call.conversation_id",),
    description="Calls / distinct conversations, per user (delta method).",
)
RETENTION_7D = Metric(
    key="retention_7d",
    name="7-day retention",
    kind="proportion",
    unit="user",
    direction="higher",
    source="llm_call",
    value=Value(1.0),
    format="percent",
    retention_days=7,
    reads=("exposure.timestamp", "llm_call.timestamp"),
    description="Units that make an LLM call 1 to 7 days after their first exposure / units.",
)


def score_metric(name: str) -> Metric:
    """A team-defined metric from `score` events: the mean value of scores called `name`."""
    return Metric(
        key=f"score:{name}",
        name=f"Score: {name}",
        kind="mean",
        unit="request",
        direction="higher",
        source="score",
        value="value",
        where=Q(name=name),
        reads=(f"score[{name}]",),
        description=f"Mean value of `{name}` score events.",
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
SAFETY_VIOLATION_RATE = SAFETY_RATE


CATALOGUE: dict[str, Metric] = {
    m.key: m
    for m in (
        MEAN_RATING,
        THUMBS_UP_RATE,
        TASK_COMPLETION,
        HALLUCINATION_RATE,
        SAFETY_RATE,
        ERROR_RATE,
        TTFT,
        MEAN_LATENCY,
        P95_LATENCY,
        TOKENS_PER_QUERY,
        COST_PER_QUERY,
        COST_PER_CALL,
        TOKENS_PER_CALL,
        QUERIES_PER_SESSION,
        RETENTION_7D,
    )
}
# Editable per experiment; these are what a new experiment starts with (issue 12).
DEFAULT_GUARDRAILS: tuple[dict[str, Any], ...] = (
    {"metric": "safety_violation_rate", "max": 0.001},
    {"metric": "hallucination_rate", "max": 0.05},
    {"metric": "p95_latency_ms", "max": 3000.0},
    {"metric": "error_rate", "max": 0.01},
)
# The flag page's outcomes table, in this order.
OUTCOME_METRICS: tuple[str, ...] = (
    "thumbs_up_rate",
    "mean_rating",
    "error_rate",
    "p95_latency_ms",
    "cost_per_call",
)


def metric_get(key: str, *, archived: bool = True) -> Metric:
    """A built-in metric, `score:<name>`, or a team metric (experiments.team_metrics; an
    archived one only with `archived`, so existing experiments keep computing it while new
    ones cannot choose it). KeyError for anything else."""
    if key.startswith("score:") and len(key) > len("score:"):
        return score_metric(key[len("score:") :])
    if key in CATALOGUE:
        return CATALOGUE[key]
    from .team_metrics import team_metric_get  # team metrics are rows: imported late

    return team_metric_get(key, archived=archived)


def metrics_list(*, archived: bool = False) -> list[Metric]:
    """The one catalogue as pickers show it: the built-ins, then the team's metrics (archived
    ones too with `archived`)."""
    from .team_metrics import team_metrics_list

    return [*CATALOGUE.values(), *team_metrics_list(archived=archived)]
