"""The demo's running experiment (`manage.py demo_data`, hence `make run`): prompt v2.0 against
v1.3 in development, with simulated traffic and results already computed, and one team metric
("GPT-4o latency", a filtered mean) that the experiment reads as a secondary metric."""

from __future__ import annotations

from django.db import transaction

from flags.changes import Actor
from flags.models import Environment, Flag

from .compute import experiment_compute_results
from .lifecycle import experiment_create, experiment_start
from .models import Experiment, MetricDefinition
from .simulate import traffic_simulate
from .team_metric_changes import team_metric_create

DEMO_KEY = "prompt-v2"
ACTOR = Actor(label="demo data")
DEMO_METRIC: dict[str, object] = {
    "key": "gpt-4o-latency",
    "name": "GPT-4o latency",
    "description": "Mean total latency of the calls answered by gpt-4o (a team metric: a "
    "built-in field with a filter).",
    "source": "llm_call",
    "kind": "mean",
    "unit": "request",
    "direction": "lower",
    "value": "latency_ms",
    "format": "ms",
    "filters": [{"field": "model", "op": "eq", "value": "gpt-4o"}],
}


def demo_team_metric_load() -> MetricDefinition:
    """Idempotent: an existing metric with the demo's key is left as it is."""
    existing = MetricDefinition.objects.filter(key=DEMO_METRIC["key"]).first()
    if existing is not None:
        return existing
    return team_metric_create(data=DEMO_METRIC, actor=ACTOR)


def demo_experiment_load(*, users: int = 1000) -> Experiment:
    """Idempotent: an existing demo experiment is left as it is."""
    demo_team_metric_load()
    existing = Experiment.objects.filter(key=DEMO_KEY).first()
    if existing is not None:
        return existing
    with transaction.atomic():
        experiment = experiment_create(
            flag=Flag.objects.get(key="prompt-version"),
            environment=Environment.objects.get(key="development"),
            key=DEMO_KEY,
            name="Prompt v2.0 vs v1.3",
            control="v1.3",
            treatments=["v2.0"],
            hypothesis="The v2.0 prompt is liked more and hallucinates less, at a small cost.",
            primary_metric="thumbs_up_rate",
            secondary_metrics=[
                "hallucination_rate",
                "cost_per_query",
                "mean_latency_ms",
                "task_completion_rate",
                "queries_per_session",
                str(DEMO_METRIC["key"]),
            ],
            actor=ACTOR,
            target_units_per_variant=2000,
        )
        experiment = experiment_start(experiment=experiment, actor=ACTOR, comment="demo data")
        traffic_simulate(experiment=experiment, users=users, seed=12)
    experiment_compute_results(experiment_id=experiment.pk)
    return experiment
