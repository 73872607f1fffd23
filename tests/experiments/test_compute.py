"""Experiment results: the SQL sufficient statistics against the same quantities computed in
Python from the raw rows, the statistics against scipy, multi-variant units, SRM and guardrail
alerts, idempotent snapshots (two workers at once), the beat job. Runs on SQLite and, with
DATABASE_URL, on PostgreSQL."""

from __future__ import annotations

import math
import threading
from collections import defaultdict
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone
from scipy import stats as sp

from alerts.models import Alert
from experiments.compute import experiment_compute_results, running_experiments_compute
from experiments.metrics import CATALOGUE
from experiments.models import Experiment, ExperimentResult
from experiments.simulate import traffic_simulate
from feedback.models import Exposure, LlmCall
from tests.experiments.builders import running_experiment
from tests.services import postgres_url


def _row(result: ExperimentResult, metric: str) -> dict[str, Any]:
    return next(r for r in result.data["metrics"] if r["metric"] == metric)


def _assignments(experiment: Experiment) -> dict[str, str]:
    first: dict[str, tuple[Any, str]] = {}
    seen: dict[str, set[str]] = defaultdict(set)
    for e in Exposure.objects.filter(experiment_key=experiment.key).order_by("timestamp"):
        first.setdefault(e.user_key, (e.timestamp, e.variant_key))
        seen[e.user_key].add(e.variant_key)
    return {u: first[u][1] for u in first if len(seen[u]) == 1}


@pytest.fixture
def computed(demo: Any) -> tuple[Experiment, ExperimentResult]:
    every = [k for k in CATALOGUE if k != "thumbs_up_rate"] + ["score:relevance"]
    experiment = running_experiment(sequential=False, secondary_metrics=every)
    traffic_simulate(experiment=experiment, users=300, seed=7)
    result = experiment_compute_results(experiment_id=experiment.pk)
    assert result is not None
    return Experiment.objects.get(pk=experiment.pk), result


@pytest.mark.django_db
def test_sql_statistics_equal_the_same_quantities_computed_from_the_rows(
    computed: tuple[Experiment, ExperimentResult],
) -> None:
    experiment, result = computed
    assigned = _assignments(experiment)
    first_at = {
        e.user_key: e.timestamp
        for e in Exposure.objects.filter(experiment_key=experiment.key).order_by("-timestamp")
    }
    calls: dict[str, list[LlmCall]] = defaultdict(list)
    for call in LlmCall.objects.filter(user_key__in=list(assigned)):
        if first_at[call.user_key] <= call.timestamp < result.computed_at:
            calls[assigned[call.user_key]].append(call)
    assert result.data["units"] == {
        v: sum(1 for a in assigned.values() if a == v) for v in experiment.variants
    }
    latency = _row(result, "mean_latency_ms")
    errors = _row(result, "error_rate")
    p95 = _row(result, "p95_latency_ms")
    tokens = _row(result, "tokens_per_query")
    for variant in experiment.variants:
        rows = calls[variant]
        values = [c.latency_ms for c in rows if c.latency_ms is not None]
        assert len(values) == len(rows)  # every simulated call has a latency
        assert latency["values"][variant]["n"] == len(values)
        assert latency["values"][variant]["value"] == pytest.approx(sum(values) / len(values))
        assert errors["values"][variant]["value"] == pytest.approx(
            sum(c.error for c in rows) / len(rows)
        )
        ordered = sorted(values)
        assert p95["values"][variant]["value"] == pytest.approx(
            ordered[math.ceil(0.95 * len(ordered)) - 1]
        )
        total = sum(c.prompt_tokens + c.completion_tokens for c in rows)
        assert tokens["values"][variant]["value"] == pytest.approx(total / len(rows))
    # The fixed-horizon test is Welch's: scipy on the raw values gives the same p-value.
    control = [c.latency_ms for c in calls["gpt-4"]]
    treatment = [c.latency_ms for c in calls["gpt-4-turbo"]]
    welch = sp.ttest_ind(treatment, control, equal_var=False)
    comparison = latency["comparisons"]["gpt-4-turbo"]
    assert comparison["p_value"] == pytest.approx(welch.pvalue, rel=1e-6)


@pytest.mark.django_db
def test_the_snapshot_has_corrected_significance_a_summary_and_guardrails(
    computed: tuple[Experiment, ExperimentResult],
) -> None:
    _, result = computed
    primary = _row(result, "thumbs_up_rate")["comparisons"]["gpt-4-turbo"]
    assert "p_adjusted" in primary and primary["p_adjusted"] >= primary["p_value"]
    assert result.data["correction"] == "holm"
    assert {g["metric"] for g in result.data["guardrails"]} == {
        "safety_violation_rate",
        "hallucination_rate",
        "p95_latency_ms",
        "error_rate",
    }
    assert "thumbs-up rate" in result.data["summary"]
    assert result.data["srm"]["flagged"] is False


@pytest.mark.django_db
def test_units_seen_in_several_variants_are_counted_and_excluded(
    computed: tuple[Experiment, ExperimentResult],
) -> None:
    experiment, result = computed
    unit = Exposure.objects.filter(experiment_key=experiment.key).first()
    assert unit is not None
    other = next(v for v in experiment.variants if v != unit.variant_key)
    Exposure.objects.create(
        environment=unit.environment,
        event_id="switch",
        timestamp=unit.timestamp + timedelta(minutes=1),
        received_at=unit.timestamp,
        flag_key=unit.flag_key,
        variant_key=other,
        user_key=unit.user_key,
        experiment_key=experiment.key,
    )
    again = experiment_compute_results(experiment_id=experiment.pk, refresh=True)
    assert again is not None
    assert again.data["multiple_variant_units"] == 1
    assert sum(again.data["units"].values()) == sum(result.data["units"].values()) - 1


@pytest.mark.django_db
def test_a_sample_ratio_mismatch_is_flagged_and_raises_an_alert(demo: Any) -> None:
    experiment = running_experiment()
    traffic_simulate(experiment=experiment, users=1500, seed=2, srm_loss=0.3)
    result = experiment_compute_results(experiment_id=experiment.pk)
    assert result is not None and result.data["srm"]["flagged"] is True
    assert "Sample ratio mismatch" in result.data["summary"]
    alert = Alert.objects.get(source="experiment")
    assert "Sample ratio mismatch" in alert.title
    # Computing again does not raise a second alert
    experiment_compute_results(experiment_id=experiment.pk, refresh=True)
    assert Alert.objects.filter(source="experiment").count() == 1


@pytest.mark.django_db
def test_a_breached_guardrail_raises_a_critical_alert(demo: Any) -> None:
    experiment = running_experiment(guardrails=[{"metric": "mean_latency_ms", "max": 500.0}])
    traffic_simulate(experiment=experiment, users=300, seed=4)
    result = experiment_compute_results(experiment_id=experiment.pk)
    assert result is not None
    (guardrail,) = result.data["guardrails"]
    assert guardrail["breached"] is True
    alert = Alert.objects.get(source="experiment", severity="critical")
    assert "Mean latency" in alert.title


@pytest.mark.django_db
def test_one_snapshot_per_period_and_the_beat_job_computes_running_experiments(
    demo: Any,
) -> None:
    experiment = running_experiment()
    traffic_simulate(experiment=experiment, users=50, seed=1)
    now = timezone.now()
    assert running_experiments_compute(now) == 1
    assert running_experiments_compute(now) == 1  # same period: the stored snapshot
    assert ExperimentResult.objects.filter(experiment=experiment).count() == 1
    later = now + timedelta(minutes=6)
    running_experiments_compute(later)
    assert ExperimentResult.objects.filter(experiment=experiment).count() == 2  # history


def test_the_beat_schedule_runs_the_job_every_interval() -> None:
    from django.conf import settings

    job = settings.CELERY_BEAT_SCHEDULE["experiment-results"]
    assert job["task"] == "experiments.tasks.compute_running_experiments"
    assert job["schedule"] == float(settings.FLAGSITE_EXPERIMENT_COMPUTE_SECONDS) == 300.0


@pytest.mark.django_db(transaction=True)
def test_two_workers_computing_at_once_store_one_snapshot(demo: Any) -> None:
    postgres_url()  # real row locks and concurrent connections
    experiment = running_experiment()
    traffic_simulate(experiment=experiment, users=200, seed=5)
    now = timezone.now()
    barrier = threading.Barrier(2)
    results: list[Any] = []

    def worker() -> None:
        try:
            barrier.wait()
            results.append(experiment_compute_results(experiment_id=experiment.pk, now=now))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert ExperimentResult.objects.filter(experiment=experiment).count() == 1
    stored = [r for r in results if r is not None]
    assert len(stored) >= 1 and {r.pk for r in stored} == {
        ExperimentResult.objects.get(experiment=experiment).pk
    }
