"""Team metrics on an experiment: the aggregate SQL gives the same numbers as numpy over the
seeded events (on SQLite, and on PostgreSQL with DATABASE_URL), for each kind and for the four
sources, including implicit signals; the results page shows them."""

from __future__ import annotations

import math
import random
from collections import defaultdict
from typing import Any

import numpy as np
import pytest
from django.test import Client

from experiments.compute import experiment_compute_results
from experiments.models import Experiment, ExperimentResult
from experiments.simulate import traffic_simulate
from experiments.team_metric_changes import team_metric_create
from feedback.models import Exposure, ImplicitSignal, LlmCall, Score
from tests.experiments.builders import SYSTEM, running_experiment

DEFINITIONS: list[dict[str, Any]] = [
    {  # request-level mean with a filter
        "key": "search-latency", "name": "Search latency", "source": "llm_call", "kind": "mean",
        "unit": "request", "direction": "lower", "value": "latency_ms", "format": "ms",
        "filters": [{"field": "feature", "op": "eq", "value": "search"}],
    },
    {  # user-level ratio with a field denominator
        "key": "completion-share", "name": "Completion share", "source": "llm_call",
        "kind": "ratio", "unit": "user", "direction": "higher", "value": "completion_tokens",
        "denominator": "total_tokens",
    },
    {  # quantile with an `in` filter
        "key": "p90-latency", "name": "P90 latency", "source": "llm_call", "kind": "quantile",
        "unit": "request", "direction": "lower", "value": "latency_ms", "quantile": 0.9,
        "filters": [{"field": "feature", "op": "in", "value": ["search", "chat"]}],
    },
    {  # proportion of scores, filtered by name
        "key": "relevant-answers", "name": "Relevant answers", "source": "score",
        "kind": "proportion", "unit": "request", "direction": "higher", "format": "percent",
        "condition": {"field": "value", "op": "gte", "value": 0.7},
        "filters": [{"field": "name", "op": "eq", "value": "relevance"}],
    },
    {  # implicit signals: a user-level mean of a signal's value
        "key": "session-seconds", "name": "Session seconds", "source": "implicit",
        "kind": "mean", "unit": "user", "direction": "higher", "value": "value",
        "filters": [{"field": "signal", "op": "eq", "value": "session_duration"}],
    },
]  # fmt: skip


def _assigned(experiment: Experiment) -> tuple[dict[str, str], dict[str, Any]]:
    first: dict[str, tuple[Any, str]] = {}
    seen: dict[str, set[str]] = defaultdict(set)
    for e in Exposure.objects.filter(experiment_key=experiment.key).order_by("timestamp", "id"):
        first.setdefault(e.user_key, (e.timestamp, e.variant_key))
        seen[e.user_key].add(e.variant_key)
    units = {u: first[u][1] for u in first if len(seen[u]) == 1}
    return units, {u: first[u][0] for u in units}


@pytest.fixture
def computed(demo: Any) -> tuple[Experiment, ExperimentResult]:
    for data in DEFINITIONS:
        team_metric_create(data=data, actor=SYSTEM)
    experiment = running_experiment(
        sequential=False, secondary_metrics=[d["key"] for d in DEFINITIONS]
    )
    traffic_simulate(experiment=experiment, users=200, seed=11)
    # Given features on the calls and session durations (the simulator writes neither)
    rng = random.Random(5)
    calls = list(LlmCall.objects.filter(environment=experiment.environment))
    for call in calls:
        call.feature = rng.choice(["search", "chat", "summary"])
    LlmCall.objects.bulk_update(calls, ["feature"])
    ImplicitSignal.objects.bulk_create(
        ImplicitSignal(
            environment=experiment.environment,
            event_id=f"dur-{call.pk}",
            timestamp=call.timestamp,
            received_at=call.timestamp,
            conversation_id=call.conversation_id,
            user_key=call.user_key,
            signal="session_duration" if i % 3 else "copied",
            value=rng.uniform(5, 600),
        )
        for i, call in enumerate(calls[::4])
    )
    result = experiment_compute_results(experiment_id=experiment.pk)
    assert result is not None
    return experiment, result


def _in_window(model: Any, experiment: Experiment, result: ExperimentResult) -> dict[str, list]:
    """The source's events per variant, by the experiments' attribution (the unit's assignment
    from its first exposure until the computation)."""
    units, first_at = _assigned(experiment)
    out: dict[str, list] = defaultdict(list)
    for row in model.objects.filter(environment=experiment.environment, user_key__in=list(units)):
        if first_at[row.user_key] <= row.timestamp < result.computed_at:
            out[units[row.user_key]].append(row)
    return out


def _row(result: ExperimentResult, key: str) -> dict[str, Any]:
    return next(r for r in result.data["metrics"] if r["metric"] == key)


@pytest.mark.django_db
def test_team_metrics_equal_numpy_over_the_seeded_events(
    computed: tuple[Experiment, ExperimentResult],
) -> None:
    experiment, result = computed
    calls = _in_window(LlmCall, experiment, result)
    scores = _in_window(Score, experiment, result)
    signals = _in_window(ImplicitSignal, experiment, result)
    for variant in experiment.variants:
        search = np.array([c.latency_ms for c in calls[variant] if c.feature == "search"])
        row = _row(result, "search-latency")["values"][variant]
        assert row["n"] == len(search) > 0
        assert row["value"] == pytest.approx(search.mean(), rel=1e-9)

        completion = np.array([c.completion_tokens for c in calls[variant]], dtype=float)
        total = np.array([c.prompt_tokens + c.completion_tokens for c in calls[variant]], float)
        row = _row(result, "completion-share")["values"][variant]
        assert row["n"] == len({c.user_key for c in calls[variant]})
        assert row["value"] == pytest.approx(completion.sum() / total.sum(), rel=1e-9)

        chosen = sorted(c.latency_ms for c in calls[variant] if c.feature in ("search", "chat"))
        row = _row(result, "p90-latency")["values"][variant]
        assert row["n"] == len(chosen)
        assert row["value"] == pytest.approx(chosen[math.ceil(0.9 * len(chosen)) - 1])

        judged = np.array([s.value >= 0.7 for s in scores[variant] if s.name == "relevance"])
        row = _row(result, "relevant-answers")["values"][variant]
        assert row["n"] == len(judged) > 0
        assert row["value"] == pytest.approx(judged.mean(), rel=1e-9)

        durations = [s.value for s in signals[variant] if s.signal == "session_duration"]
        row = _row(result, "session-seconds")["values"][variant]
        assert row["value"] == pytest.approx(np.mean(durations), rel=1e-9)
    comparison = _row(result, "search-latency")["comparisons"]["gpt-4-turbo"]
    assert comparison["p_value"] is not None and 0 <= comparison["p_value"] <= 1


@pytest.mark.django_db
def test_the_results_page_shows_a_team_metric(
    computed: tuple[Experiment, ExperimentResult], admin_user: Any
) -> None:
    experiment, _ = computed
    client = Client()
    client.force_login(admin_user)
    body = client.get(f"/experiments/{experiment.key}/").content.decode()
    assert "Search latency" in body and "Session seconds" in body
