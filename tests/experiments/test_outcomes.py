"""Per-variant outcomes by the attribution rule and the metric catalogue, against values
computed by hand (the comments show the arithmetic)."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from itertools import count
from typing import Any

import pytest
from django.utils import timezone

from experiments.attribution import attributed
from experiments.metrics import CATALOGUE, OUTCOME_METRICS
from experiments.outcomes import outcomes_by_variant
from feedback.models import Exposure, Feedback, LlmCall
from flags.changes import Actor, environment_create

FLAG = "llm-model"
T0 = timezone.now().replace(microsecond=0) - timedelta(hours=10)
_ids = count()


def _at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def exposure(env: Any, user: str, variant: str, hours: float) -> None:
    Exposure.objects.create(
        environment=env,
        event_id=f"e{next(_ids)}",
        timestamp=_at(hours),
        received_at=_at(hours),
        flag_key=FLAG,
        variant_key=variant,
        user_key=user,
    )


def call(env: Any, name: str, hours: float, *, variant: str | None = None, **fields: Any) -> None:
    flags = {FLAG: variant} if variant else fields.pop("flags", {})
    cost = fields.pop("cost", None)
    LlmCall.objects.create(
        environment=env,
        event_id=name,
        timestamp=_at(hours),
        received_at=_at(hours),
        request_id=f"req-{name}",
        model="gpt-4o",
        flags=flags,
        cost_usd=None if cost is None else Decimal(cost),
        **fields,
    )


def vote(
    env: Any, name: str, hours: float, kind: str, rating: int | None = None, **ids: Any
) -> None:
    Feedback.objects.create(
        environment=env,
        event_id=name,
        timestamp=_at(hours),
        received_at=_at(hours),
        type=kind,
        rating=rating,
        **ids,
    )


@pytest.fixture
def env(db: Any) -> Any:
    return environment_create(key="dev", name="Dev", actor=Actor(label="test"))


@pytest.fixture
def events(env: Any) -> Any:
    # Assignments: u1 -> a, u2 -> b, u3 -> a first (b later does not count), u4 only at +5 h.
    exposure(env, "u1", "a", 0)
    exposure(env, "u2", "b", 0)
    exposure(env, "u3", "a", 2)
    exposure(env, "u3", "b", 2.5)
    exposure(env, "u4", "b", 5)
    # LLM calls: by their own flags, else by the user's assignment.
    call(env, "c1", 1, variant="a", latency_ms=100, error=False, cost="0.01")
    call(env, "c2", 1, variant="a", latency_ms=200, error=True, cost="0.03")
    call(env, "c3", 1, user_key="u2", latency_ms=300, cost="0.02")  # assignment: b
    call(env, "c4", 1, variant="b", latency_ms=400, cost="0.04", conversation_id="conv-b")
    call(env, "c5", 1, user_key="u4", latency_ms=999, error=True)  # u4 not yet exposed: none
    call(env, "c6", 1, flags={"other": "x"}, user_key="u1", latency_ms=50)  # assignment: a
    call(env, "c7", 1, variant="a", conversation_id="conv-x")
    call(env, "c8", 3, variant="b", conversation_id="conv-x")
    call(env, "old", -48, variant="a", latency_ms=5000, error=True)  # outside the period
    # Feedback: request id, else the conversation's latest call before it, else assignment.
    vote(env, "f1", 2, "thumbs_up", 5, request_id="req-c1")  # a
    vote(env, "f2", 2, "thumbs_down", 2, conversation_id="conv-b")  # b (c4)
    vote(env, "f3", 2, "thumbs_down", user_key="u1")  # a (assignment)
    vote(env, "f4", 3, "thumbs_up", 4, request_id="req-none", user_key="u3")  # a (first exposure)
    vote(env, "f5", 3, "thumbs_up", 1, user_key="nobody")  # unattributed
    vote(env, "f6", 2, "thumbs_up", conversation_id="conv-x")  # a: c7 at +1 h, not c8 at +3 h
    return env


def test_each_event_gets_the_variant_of_the_rule(events: Any) -> None:
    calls = dict(attributed(LlmCall.objects.all(), FLAG).values_list("event_id", "variant"))
    assert calls == {
        "c1": "a",
        "c2": "a",
        "c3": "b",
        "c4": "b",
        "c5": None,
        "c6": "a",
        "c7": "a",
        "c8": "b",
        "old": "a",
    }
    votes = dict(attributed(Feedback.objects.all(), FLAG).values_list("event_id", "variant"))
    assert votes == {"f1": "a", "f2": "b", "f3": "a", "f4": "a", "f5": None, "f6": "a"}


def test_outcomes_per_variant_match_hand_computed_values(events: Any) -> None:
    out = outcomes_by_variant(environment_id=events.id, flag_key=FLAG, since=_at(-1), until=_at(10))
    assert set(out) == {"a", "b"}
    a, b = out["a"], out["b"]
    # thumbs: a = f1 up, f3 down, f4 up, f6 up -> 3/4; b = f2 down -> 0/1
    assert (a["thumbs_up_rate"].value, a["thumbs_up_rate"].n) == (0.75, 4)
    assert (b["thumbs_up_rate"].value, b["thumbs_up_rate"].n) == (0.0, 1)
    # ratings: a = (5 + 4) / 2; b = 2
    assert (a["mean_rating"].value, a["mean_rating"].n) == (4.5, 2)
    assert b["mean_rating"].value == 2.0
    # errors: a = c1, c2 (error), c6, c7 -> 1/4; b = c3, c4, c8 -> 0/3 ("old" is outside)
    assert (a["error_rate"].value, a["error_rate"].n) == (0.25, 4)
    assert (b["error_rate"].value, b["error_rate"].n) == (0.0, 3)
    # P95, nearest rank: a = [50, 100, 200], rank ceil(2.85) = 3 -> 200; b = [300, 400] -> 400
    assert (a["p95_latency_ms"].value, a["p95_latency_ms"].n) == (200.0, 3)
    assert b["p95_latency_ms"].value == 400.0
    # cost per priced call: a = (0.01 + 0.03) / 2; b = (0.02 + 0.04) / 2
    assert a["cost_per_call"].value == pytest.approx(0.02)
    assert b["cost_per_call"].value == pytest.approx(0.03)
    assert a["cost_per_call"].n == 2


def test_a_changed_vote_counts_once(events: Any) -> None:
    # u1 (variant a) votes down on c1's response, then changes it to up: only the last counts.
    vote(events, "g1", 4, "thumbs_down", 1, request_id="req-c1", user_key="u1")
    vote(events, "g2", 5, "thumbs_up", 3, request_id="req-c1", user_key="u1")
    out = outcomes_by_variant(environment_id=events.id, flag_key=FLAG, since=_at(-1), until=_at(10))
    a = out["a"]
    # thumbs: a = f1 up, f3 down, f4 up, f6 up, g2 up -> 4/5 (g1 replaced)
    assert (a["thumbs_up_rate"].value, a["thumbs_up_rate"].n) == (0.8, 5)
    # ratings: a = (5 + 4 + 3) / 3 (g1's 1 replaced)
    assert (a["mean_rating"].value, a["mean_rating"].n) == (4.0, 3)
    assert Feedback.objects.filter(event_id__in=["g1", "g2"]).count() == 2  # history kept


def test_p95_is_the_nearest_rank(env: Any) -> None:
    for i in range(1, 21):  # 1..20 ms, shuffled order of insertion does not matter
        call(env, f"p{i}", 1, variant="a", latency_ms=float(21 - i))
    out = outcomes_by_variant(
        environment_id=env.id,
        flag_key=FLAG,
        since=_at(0),
        until=_at(2),
        metric_keys=("p95_latency_ms",),
    )
    assert out["a"]["p95_latency_ms"].value == 19.0  # rank ceil(0.95 * 20) = 19


def test_the_catalogue_declares_each_outcome_metric() -> None:
    for key in OUTCOME_METRICS:
        metric = CATALOGUE[key]
        assert metric.kind in {"mean", "proportion", "ratio", "quantile"}
        assert metric.unit in {"user", "request"}
        assert metric.direction in {"higher", "lower"}
        assert metric.reads
    assert CATALOGUE["p95_latency_ms"].quantile == 0.95
