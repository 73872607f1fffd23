"""Small builders for experiment tests."""

from __future__ import annotations

from typing import Any

from experiments.lifecycle import experiment_create, experiment_start
from experiments.models import Experiment
from flags.changes import Actor
from flags.models import Environment, Flag

SYSTEM = Actor(label="test")
# A team metric definition (the API's and team_metric_create's shape): mean latency of search calls.
SEARCH_LATENCY: dict[str, Any] = {
    "key": "search-latency",
    "name": "Search latency",
    "source": "llm_call",
    "kind": "mean",
    "unit": "request",
    "direction": "lower",
    "value": "latency_ms",
    "format": "ms",
    "filters": [{"field": "feature", "op": "eq", "value": "search"}],
}


def running_experiment(key: str = "model-test", **fields: Any) -> Experiment:
    """An experiment on the demo's llm-model flag in development, started (demo data loaded)."""
    values: dict[str, Any] = {
        "flag": Flag.objects.get(key="llm-model"),
        "environment": Environment.objects.get(key="development"),
        "key": key,
        "name": "GPT-4 turbo vs GPT-4",
        "control": "gpt-4",
        "treatments": ["gpt-4-turbo"],
        "primary_metric": "thumbs_up_rate",
        "secondary_metrics": ["cost_per_query", "hallucination_rate", "mean_latency_ms"],
        "actor": SYSTEM,
        "hypothesis": "Turbo is as liked and cheaper.",
    } | fields
    experiment = experiment_create(**values)
    return experiment_start(experiment=experiment, actor=SYSTEM)
