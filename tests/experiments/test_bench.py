"""bench/stats.py's code path at 100 k events on PostgreSQL (COPY): the computed per-variant
values equal the same sums computed with numpy on the generated arrays. Results, not times."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone

from bench.stats import _yardstick, bench_data_load, bench_experiment, results_check
from experiments.compute import experiment_compute_results
from feedback.models import LlmCall
from tests.services import postgres_url


@pytest.mark.django_db
def test_the_benchmark_path_reproduces_numpy_at_100k_events(db: Any) -> None:
    postgres_url()  # COPY
    experiment = bench_experiment()
    truth = bench_data_load(experiment, events=100_000, seed=3)
    assert 95_000 <= truth.events <= 100_000
    result = experiment_compute_results(experiment_id=experiment.pk, now=timezone.now())
    assert result is not None
    assert results_check(result.data, truth) == []


@pytest.mark.django_db
def test_the_yardstick_scans_the_environments_llm_calls(db: Any) -> None:
    postgres_url()
    experiment = bench_experiment()
    bench_data_load(experiment, events=20_000, seed=4)
    seconds, rows = _yardstick(experiment)
    assert rows == LlmCall.objects.filter(environment_id=experiment.environment_id).count() > 0
    assert seconds > 0
