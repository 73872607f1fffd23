"""manage.py simulate_traffic and the demo's running experiment."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from experiments.demo import demo_experiment_load
from experiments.models import ExperimentResult, Status
from feedback.models import Exposure, LlmCall
from tests.experiments.builders import running_experiment


@pytest.mark.django_db
def test_simulate_traffic_writes_events_with_a_true_effect_and_computes(demo: Any) -> None:
    running_experiment()
    out = StringIO()
    call_command("simulate_traffic", "model-test", "--users", "300", "--seed", "4", stdout=out)
    text = out.getvalue()
    assert "users in the experiment" in text and "LLM calls" in text
    assert Exposure.objects.filter(experiment_key="model-test").count() > 250
    assert LlmCall.objects.count() > 300
    assert ExperimentResult.objects.count() == 1


@pytest.mark.django_db
def test_simulate_traffic_refuses_an_experiment_that_is_not_running(demo: Any) -> None:
    with pytest.raises(CommandError, match="No running experiment"):
        call_command("simulate_traffic", "nope")


@pytest.mark.django_db
def test_the_demo_has_a_running_experiment_with_results(demo: Any) -> None:
    experiment = demo_experiment_load(users=300)
    assert experiment.status == Status.RUNNING
    result = ExperimentResult.objects.get(experiment=experiment)
    assert result.data["units"]["v1.3"] > 50 and result.data["units"]["v2.0"] > 50
    assert demo_experiment_load(users=300).pk == experiment.pk  # idempotent
