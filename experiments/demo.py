"""The demo's running experiment (`manage.py demo_data`, hence `make run`): prompt v2.0 against
v1.3 in development, with simulated traffic and results already computed."""

from __future__ import annotations

from django.db import transaction

from flags.changes import Actor
from flags.models import Environment, Flag

from .compute import experiment_compute_results
from .lifecycle import experiment_create, experiment_start
from .models import Experiment
from .simulate import traffic_simulate

DEMO_KEY = "prompt-v2"
ACTOR = Actor(label="demo data")


def demo_experiment_load(*, users: int = 1000) -> Experiment:
    """Idempotent: an existing demo experiment is left as it is."""
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
            ],
            actor=ACTOR,
            target_units_per_variant=2000,
        )
        experiment = experiment_start(experiment=experiment, actor=ACTOR, comment="demo data")
        traffic_simulate(experiment=experiment, users=users, seed=12)
    experiment_compute_results(experiment_id=experiment.pk)
    return experiment
