"""CUPED in the computation: each unit's pre-period value of a user-level mean fetched by
aggregate SQL, `stats.compare_cuped`, the variance reduction stored and shown. Checked against
scipy's Welch test on the adjusted per-unit values computed here from the raw rows."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

import numpy as np
import pytest
from django.test import Client
from django.utils import timezone
from scipy import stats as sp

from experiments.compute import experiment_compute_results
from experiments.models import Experiment
from experiments.simulate import _exposure
from feedback.models import Exposure, Feedback
from tests.experiments.builders import running_experiment


def _rating(rng: random.Random, quality: float) -> int:
    return max(1, min(5, round(quality + rng.gauss(0, 0.6))))


def _simulate(experiment: Experiment, users: int, seed: int) -> dict[str, Any]:
    """Users with a latent quality; ratings before the start (pre-period, for 80 % of them)
    and after their exposure; the treatment adds 0.2 to the quality."""
    rng = random.Random(seed)
    env = experiment.environment
    start = experiment.started_at
    assert start is not None
    exposures, feedback = [], []
    truth: dict[str, Any] = {}
    for i in range(users):
        user = f"cu{i}"
        variant = rng.choice(experiment.variants)
        quality = rng.uniform(1.5, 4.5)
        at = start + timedelta(hours=1, minutes=i % 50)
        exposures.append(_exposure(env, f"cu-x-{i}", at, experiment, variant, user))
        pre: list[int] = []
        if rng.random() < 0.8:
            for k in range(rng.randint(1, 3)):
                pre.append(_rating(rng, quality))
                when = start - timedelta(days=3, hours=k)
                feedback.append(_feedback(env, f"cu-p-{i}-{k}", when, user, pre[-1]))
        post: list[int] = []
        for k in range(rng.randint(1, 3)):
            lift = 0.2 if variant != experiment.control else 0.0
            post.append(_rating(rng, quality + lift))
            when = at + timedelta(hours=2 + k)
            feedback.append(_feedback(env, f"cu-e-{i}-{k}", when, user, post[-1]))
        truth[user] = (variant, float(np.mean(pre)) if pre else 0.0, float(np.mean(post)))
    Exposure.objects.bulk_create(exposures)
    Feedback.objects.bulk_create(feedback)
    return truth


def _feedback(env: Any, event_id: str, at: Any, user: str, rating: int) -> Feedback:
    return Feedback(
        environment=env,
        event_id=event_id,
        timestamp=at,
        received_at=at,
        type="thumbs_up",
        rating=rating,
        conversation_id=f"{event_id}-c",
        request_id=f"{event_id}-r",
        user_key=user,
    )


@pytest.fixture
def experiment(demo: Any) -> Experiment:
    found = running_experiment(
        "cuped-test", primary_metric="mean_rating", secondary_metrics=[], sequential=False
    )
    Experiment.objects.filter(pk=found.pk).update(started_at=timezone.now() - timedelta(days=1))
    found.refresh_from_db()
    return found


@pytest.mark.django_db
def test_cuped_narrows_the_interval_and_equals_welch_on_adjusted_values(
    experiment: Experiment,
) -> None:
    truth = _simulate(experiment, users=600, seed=11)
    result = experiment_compute_results(experiment_id=experiment.pk, refresh=True)
    assert result is not None
    row = next(r for r in result.data["metrics"] if r["metric"] == "mean_rating")
    c = row["comparisons"]["gpt-4-turbo"]
    assert c["method"].startswith("cuped")
    assert row["cuped_pre_period_days"] == 14

    # From the raw rows: per unit y (in-experiment mean), x (pre-period mean or 0).
    units = list(truth.values())
    x = np.array([u[1] for u in units])
    y = np.array([u[2] for u in units])
    arm = np.array([u[0] for u in units])
    theta = np.cov(x, y, ddof=1)[0, 1] / np.var(x, ddof=1)
    adjusted = y - theta * (x - x.mean())
    control, treatment = arm == "gpt-4", arm == "gpt-4-turbo"
    welch = sp.ttest_ind(adjusted[treatment], adjusted[control], equal_var=False)
    assert c["p_value"] == pytest.approx(float(welch.pvalue), rel=1e-6, abs=1e-12)
    lift = adjusted[treatment].mean() - adjusted[control].mean()
    assert c["abs_lift"] == pytest.approx(lift, rel=1e-9)
    ci = welch.confidence_interval(0.95)
    assert c["abs_ci"] == pytest.approx([ci.low, ci.high], rel=1e-6)

    # Narrower than Welch on the raw per-unit values; the reduction is about rho^2.
    raw = sp.ttest_ind(y[treatment], y[control], equal_var=False).confidence_interval(0.95)
    assert c["abs_ci"][1] - c["abs_ci"][0] < raw.high - raw.low
    rho = np.corrcoef(x, y)[0, 1]
    assert rho > 0.2  # lowered by the units without pre-period data (x = 0)
    assert 1 - c["variance_reduction"] == pytest.approx(1 - rho**2, abs=0.02)


@pytest.mark.django_db
def test_without_pre_period_data_the_metric_stays_a_ratio(
    experiment: Experiment, settings: Any
) -> None:
    settings.FLAGSITE_CUPED_PRE_PERIOD_DAYS = 0
    _simulate(experiment, users=100, seed=3)
    result = experiment_compute_results(experiment_id=experiment.pk, refresh=True)
    assert result is not None
    row = next(r for r in result.data["metrics"] if r["metric"] == "mean_rating")
    assert not row["comparisons"]["gpt-4-turbo"]["method"].startswith("cuped")
    assert row["cuped_pre_period_days"] is None


@pytest.mark.django_db
def test_the_results_page_shows_the_variance_reduction(
    client: Client, admin_user: Any, experiment: Experiment
) -> None:
    _simulate(experiment, users=200, seed=5)
    experiment_compute_results(experiment_id=experiment.pk, refresh=True)
    client.force_login(admin_user)
    html = client.get(f"/experiments/{experiment.key}/").content.decode()
    assert "CUPED (14-day pre-period): variance −" in html
