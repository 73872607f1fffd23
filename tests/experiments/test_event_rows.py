"""experiments/event_rows.py: the catalogue's costly lookups computed as joins on aggregated
sets give the same snapshot as the catalogue's own EXISTS expressions (`JOINS = False`), on
simulated traffic plus the edge cases of each lookup (ties, earlier calls, replaced votes).
Runs on SQLite and, with DATABASE_URL, on PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta
from itertools import count
from typing import Any

import pytest
from django.utils import timezone

from experiments import baseline, event_rows, sufficient
from experiments.compute import results_compute
from experiments.metrics import CATALOGUE
from experiments.models import Experiment
from experiments.simulate import traffic_simulate
from feedback.models import Exposure, Feedback, ImplicitSignal, LlmCall, Score
from tests.experiments.builders import running_experiment

_ids = count()


def _call(env: Any, user: str, at: datetime, **fields: Any) -> LlmCall:
    n = next(_ids)
    values = {"request_id": f"edge-r{n}", "conversation_id": f"edge-c{n}", "model": "gpt-4o"}
    return LlmCall.objects.create(
        environment=env,
        event_id=f"edge-call-{n}",
        timestamp=at,
        received_at=at,
        user_key=user,
        latency_ms=900.0 + n,
        **(values | fields),
    )


def _vote(env: Any, user: str, at: datetime, **fields: Any) -> Feedback:
    n = next(_ids)
    return Feedback.objects.create(
        environment=env, event_id=f"edge-vote-{n}", timestamp=at, received_at=at, user_key=user,
        **({"type": "thumbs_up"} | fields),
    )  # fmt: skip


def _score(env: Any, request_id: str, name: str, value: float, at: datetime) -> None:
    n = next(_ids)
    Score.objects.create(
        environment=env, event_id=f"edge-score-{n}", timestamp=at, received_at=at, name=name,
        value=value, source="llm-judge", request_id=request_id,
    )  # fmt: skip


def _edges(experiment: Experiment) -> None:
    """Each lookup's edge cases, on units of the experiment (two per variant)."""
    env = experiment.environment
    units: list[str] = []
    for variant in experiment.variants:
        exposures = Exposure.objects.filter(experiment_key=experiment.key, variant_key=variant)
        units += list(exposures.values_list("user_key", flat=True).distinct()[:2])
    first = {u: Exposure.objects.filter(user_key=u).earliest("timestamp").timestamp for u in units}
    for i, user in enumerate(units):
        at = first[user] + timedelta(minutes=30 + i)
        before = (experiment.started_at or at) - timedelta(hours=3)
        # a conversation that began before the experiment (stored after: a higher id): none of
        # its calls here is its first
        _call(env, user, at, conversation_id=f"edge-old-{i}")
        _call(env, user, before, conversation_id=f"edge-old-{i}")
        # two first calls at the same instant: the lower id is the first (the other one,
        # anonymous, is no unit's)
        tie = [_call(env, u, at, conversation_id=f"edge-tie-{i}") for u in (user, "")]
        _call(env, user, at, conversation_id="")  # no conversation
        # judgements: own flag, a score >= 0.5 or below, a categorised thumbs-down
        _call(env, user, at, hallucination=None, safety_violation=True)
        judged = _call(env, user, at)
        _score(env, judged.request_id, "hallucination", 0.5, at)
        _score(env, tie[0].request_id, "safety_violation", 0.49, at)
        _score(env, "", "hallucination", 0.9, at)
        _vote(env, "someone", at, type="thumbs_down", request_id=tie[1].request_id,
              triage_category="safety")  # fmt: skip
        _vote(env, "someone", at, type="thumbs_up", request_id=tie[0].request_id,
              category="hallucination")  # fmt: skip
        ImplicitSignal.objects.create(
            environment=env, event_id=f"edge-done-{i}", timestamp=at, received_at=at,
            conversation_id=f"edge-tie-{i}", signal="task_completed",
        )  # fmt: skip
        # votes: replaced later, replaced at the same instant (higher id wins), about no
        # response (each counts), replaced after the window (by a vote from the future)
        _vote(env, user, at, request_id=judged.request_id, rating=2)
        _vote(env, user, at + timedelta(minutes=1), request_id=judged.request_id, rating=5)
        _vote(env, user, at, conversation_id=f"edge-tie-{i}", rating=1, type="thumbs_down")
        _vote(env, user, at, conversation_id=f"edge-tie-{i}", rating=4)
        _vote(env, user, at, rating=3)
        _vote(env, user, at, rating=1, type="thumbs_down")
        _vote(env, user, at, request_id=tie[0].request_id, rating=2)
        _vote(env, user, timezone.now() + timedelta(days=1), request_id=tie[0].request_id)


def _same(a: Any, b: Any, where: str = "") -> None:
    if isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for k in a:
            _same(a[k], b[k], f"{where}.{k}")
    elif isinstance(a, list):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _same(x, y, f"{where}[{i}]")
    elif isinstance(a, float) and isinstance(b, float):
        assert a == pytest.approx(b, rel=1e-9, abs=1e-12), where
    else:
        assert a == b, where


@pytest.mark.django_db
def test_joined_lookups_give_the_same_snapshot_as_the_expressions(
    demo: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    every = [k for k in CATALOGUE if k != "thumbs_up_rate"] + ["score:relevance"]
    experiment = running_experiment(sequential=False, secondary_metrics=every)
    # A pre-period for CUPED (mean rating, task completion) and the edge cases.
    experiment.started_at = (experiment.started_at or timezone.now()) - timedelta(hours=6)
    experiment.save(update_fields=["started_at"])
    traffic_simulate(experiment=experiment, users=120, seed=11)
    _edges(experiment)
    until = timezone.now()
    joined = results_compute(experiment, until=until)
    monkeypatch.setattr(event_rows, "JOINS", False)
    expressions = results_compute(experiment, until=until)
    _same(joined, expressions)
    # PostgreSQL reads the quantile's ranks with percentile_disc: the same as the window query.
    monkeypatch.setattr(sufficient, "_ranked_pg", sufficient._ranked)
    _same(joined, results_compute(experiment, until=until))
    # The edge cases were counted: the first-call lookup saw the tie and the earlier call.
    rows = {r["metric"]: r for r in joined["metrics"]}
    assert all(rows["queries_per_session"]["values"][v]["n"] for v in experiment.variants)


@pytest.mark.django_db
def test_the_power_calculators_baseline_is_the_same_both_ways(
    demo: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    experiment = running_experiment()
    traffic_simulate(experiment=experiment, users=60, seed=5)
    _edges(experiment)
    since, until = timezone.now() - timedelta(days=30), timezone.now() + timedelta(days=2)
    keys = [k for k, m in CATALOGUE.items() if m.kind != "quantile" and not m.retention_days]
    env = experiment.environment_id

    def baselines() -> dict[str, Any]:
        return {k: baseline.baseline(env, CATALOGUE[k], since, until) for k in keys}

    joined = baselines()
    monkeypatch.setattr(event_rows, "JOINS", False)
    expressions = baselines()
    for key in keys:
        _same(vars(joined[key]), vars(expressions[key]), key)
    assert joined["hallucination_rate"].sum > 0 and joined["mean_rating"].n > 0
