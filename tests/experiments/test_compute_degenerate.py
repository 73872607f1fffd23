"""An experiment whose metrics have no variance (every unit the same value; a control rate of
0) still gets a result: the lifts it can state, p = 1, no interval, and the reason on the page
(experiments.stats never raises on numbers; docs/experiments.md, "Degenerate inputs")."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from experiments.compute import experiment_compute_results
from experiments.models import Experiment
from experiments.simulate import _exposure
from experiments.stats_compare import NO_VARIANCE
from feedback.models import Exposure, Feedback
from tests.experiments.builders import running_experiment


def _constant_feedback(experiment: Experiment, users: int) -> None:
    """Every unit rates 4; the control's votes are all thumbs-down, the treatment's all up."""
    env, start = experiment.environment, experiment.started_at
    assert start is not None
    exposures, feedback = [], []
    for i in range(users):
        user, variant = f"flat{i}", experiment.variants[i % 2]
        at = start + timedelta(minutes=1 + i)
        exposures.append(_exposure(env, f"flat-x-{i}", at, experiment, variant, user))
        kind = "thumbs_down" if variant == experiment.control else "thumbs_up"
        feedback.append(
            Feedback(
                environment=env,
                event_id=f"flat-f-{i}",
                timestamp=at + timedelta(seconds=5),
                received_at=at + timedelta(seconds=5),
                type=kind,
                rating=4,
                request_id=f"flat-r-{i}",
                user_key=user,
            )
        )
    Exposure.objects.bulk_create(exposures)
    Feedback.objects.bulk_create(feedback)


@pytest.mark.django_db
def test_metrics_without_variance_show_a_result_and_the_reason(
    demo: Any, client: Client, admin_user: Any
) -> None:
    experiment = running_experiment(
        "flat-test", primary_metric="mean_rating", secondary_metrics=["thumbs_up_rate"]
    )
    Experiment.objects.filter(pk=experiment.pk).update(
        started_at=timezone.now() - timedelta(days=1)
    )
    experiment.refresh_from_db()
    _constant_feedback(experiment, users=40)
    result = experiment_compute_results(experiment_id=experiment.pk, refresh=True)
    assert result is not None
    rows = {r["metric"]: r for r in result.data["metrics"]}

    rating = rows["mean_rating"]["comparisons"]["gpt-4-turbo"]
    assert rating["error"] == NO_VARIANCE
    assert (rating["abs_lift"], rating["rel_lift"]) == (0.0, 0.0)  # the point estimates stand
    assert (rating["abs_ci"], rating["p_value"]) == (None, 1.0)
    assert rows["mean_rating"]["values"]["gpt-4"]["value"] == 4.0

    rate = rows["thumbs_up_rate"]["comparisons"]["gpt-4-turbo"]
    assert (rate["control_value"], rate["treatment_value"], rate["abs_lift"]) == (0.0, 1.0, 1.0)
    assert (rate["rel_lift"], rate["abs_ci"], rate["p_value"]) == (None, None, 1.0)
    assert rate["error"] == NO_VARIANCE
    assert "no test of mean rating yet (no variance" in result.data["summary"]

    client.force_login(admin_user)
    page = client.get(f"/experiments/{experiment.key}/")
    assert page.status_code == 200
    assert "no variance: every unit has the same value" in page.content.decode()
