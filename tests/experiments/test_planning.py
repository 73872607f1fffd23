"""The create form's power / sample-size calculator: the observed variance by aggregate SQL,
units per variant equal to statsmodels' solve_power, days from the daily units, 400s naming the
field."""

from __future__ import annotations

import math
import re
from datetime import timedelta
from typing import Any

import numpy as np
import pytest
from django.test import Client
from django.utils import timezone
from statsmodels.stats.power import NormalIndPower, TTestIndPower

from experiments import planning, stats
from experiments.simulate import traffic_simulate
from feedback.models import Exposure, LlmCall
from tests.experiments.builders import running_experiment


@pytest.fixture
def admin_client(client: Client, admin_user: Any) -> Client:
    client.force_login(admin_user)
    return client


@pytest.mark.parametrize(
    ("mean", "sd", "mde", "alpha", "power"),
    [(0.3, math.sqrt(0.3 * 0.7), 0.05, 0.05, 0.8), (1200.0, 400.0, 0.02, 0.01, 0.9)],
)
def test_units_needed_equal_statsmodels(
    mean: float, sd: float, mde: float, alpha: float, power: float
) -> None:
    d = mde * mean / sd
    expected_t = TTestIndPower().solve_power(effect_size=d, alpha=alpha, power=power, ratio=1.0)
    expected_z = NormalIndPower().solve_power(effect_size=d, alpha=alpha, power=power, ratio=1.0)
    got = planning.units_needed(mean=mean, sd=sd, mde_relative=mde, alpha=alpha, power=power)
    assert got == math.ceil(expected_t)
    exact_z = stats.sample_size(effect=mde * mean, sd=sd, alpha=alpha, power=power, test="z")
    assert exact_z == pytest.approx(expected_z, rel=1e-6)


def _window_latencies(env_id: int) -> np.ndarray:
    now = timezone.now()
    rows = LlmCall.objects.filter(
        environment_id=env_id,
        timestamp__gte=now - timedelta(days=14),
        latency_ms__isnull=False,
    ).exclude(user_key="")
    return np.array(list(rows.values_list("latency_ms", flat=True)), dtype=float)


@pytest.mark.django_db
def test_the_calculator_uses_the_observed_variance(admin_client: Client, demo: Any) -> None:
    experiment = running_experiment()
    traffic_simulate(experiment=experiment, users=200, seed=3, days=2)
    response = admin_client.get(
        "/experiments/power",
        {
            "flag": "llm-model",
            "environment": "development",
            "primary_metric": "mean_latency_ms",
            "treatments": "gpt-4-turbo",
            "traffic_percentage": "50",
            "alpha": "0.05",
            "power": "0.8",
            "mde_percent": "3",
        },
    )
    assert response.status_code == 200, response.content.decode()
    html = response.content.decode()
    values = _window_latencies(experiment.environment_id)
    mean, sd = values.mean(), values.std(ddof=1)
    d = 0.03 * mean / sd
    n = math.ceil(TTestIndPower().solve_power(effect_size=d, alpha=0.05, power=0.8))
    units = re.search(r'id="power-units">(\d+)<', html)
    assert units is not None and int(units.group(1)) == n
    # The target units field is filled out of band.
    assert f'value="{n}"' in html and 'hx-swap-oob="true"' in html
    now = timezone.now()
    exposed = (
        Exposure.objects.filter(
            environment_id=experiment.environment_id,
            flag_key="llm-model",
            timestamp__gte=now - timedelta(days=14),
        )
        .exclude(user_key="")
        .values("user_key")
        .distinct()
        .count()
    )
    days = re.search(r'id="power-days">(\d+) day', html)
    assert days is not None
    assert int(days.group(1)) == math.ceil(2 * n / (exposed / 14 * 0.5))


@pytest.mark.django_db
def test_the_calculator_for_a_proportion_uses_p_one_minus_p(demo: Any) -> None:
    experiment = running_experiment()
    traffic_simulate(experiment=experiment, users=200, seed=5, days=2)
    from experiments.metrics import metric_get

    found = planning.plan(
        environment_id=experiment.environment_id,
        flag_key="llm-model",
        metric=metric_get("error_rate"),
        alpha=0.05,
        power=0.8,
        mde_relative=0.2,
        variants=2,
        traffic_share=1.0,
        now=timezone.now(),
    )
    assert 0 < found.mean < 1
    assert found.sd == pytest.approx(math.sqrt(found.mean * (1 - found.mean)), rel=1e-12)
    d = 0.2 * found.mean / found.sd
    assert found.units_per_variant == math.ceil(
        TTestIndPower().solve_power(effect_size=d, alpha=0.05, power=0.8)
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("alpha", "abc"),
        ("alpha", "1.5"),
        ("power", "0.01"),
        ("mde_percent", "-3"),
        ("traffic_percentage", "nan"),
        ("primary_metric", "nope"),
        ("flag", "missing-flag"),
        ("environment", "nowhere"),
    ],
)
def test_malformed_inputs_give_a_400_naming_the_field(
    admin_client: Client, demo: Any, field: str, value: str
) -> None:
    params = {
        "flag": "llm-model",
        "environment": "development",
        "primary_metric": "mean_latency_ms",
        "treatments": "gpt-4-turbo",
        "alpha": "0.05",
        "power": "0.8",
        "mde_percent": "5",
    } | {field: value}
    response = admin_client.get("/experiments/power", params)
    assert response.status_code == 400
    assert f"<strong>{field}</strong>" in response.content.decode()


@pytest.mark.django_db
def test_the_create_form_carries_the_calculator(admin_client: Client, demo: Any) -> None:
    html = admin_client.get("/experiments/new").content.decode()
    assert 'hx-get="/experiments/power"' in html
    assert 'name="mde_percent"' in html and "<script>" not in html.split("<body")[-1]
