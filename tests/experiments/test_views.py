"""The experiment pages and API: create, start, results page (summary, table, SVG charts, SRM
banner), CSV, the management API."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest
from django.test import Client

from experiments.compute import experiment_compute_results
from experiments.models import Experiment, ExperimentResult, Status
from experiments.simulate import traffic_simulate
from tests.experiments.builders import running_experiment


@pytest.fixture
def admin_client(client: Client, admin_user: Any) -> Client:
    client.force_login(admin_user)
    return client


@pytest.mark.django_db
def test_it_creates_and_starts_an_experiment_from_the_form(admin_client: Client, demo: Any) -> None:
    response = admin_client.post(
        "/experiments/new",
        {
            "key": "form-test",
            "name": "Form test",
            "flag": "llm-model",
            "environment": "development",
            "control": "gpt-4",
            "treatments": "gpt-4-turbo",
            "traffic_percentage": "50",
            "primary_metric": "thumbs_up_rate",
            "secondary_metrics": ["cost_per_query"],
            "correction": "holm",
            "sequential": "on",
            "target_units_per_variant": "500",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    experiment = Experiment.objects.get(key="form-test")
    assert experiment.status == Status.DRAFT and experiment.traffic_percentage == 50
    admin_client.post("/experiments/form-test/start")
    experiment.refresh_from_db()
    assert experiment.status == Status.RUNNING


@pytest.mark.django_db
def test_the_form_names_a_bad_field(admin_client: Client, demo: Any) -> None:
    response = admin_client.post(
        "/experiments/new",
        {
            "key": "bad",
            "flag": "llm-model",
            "environment": "development",
            "control": "nope",
            "treatments": "gpt-4-turbo",
            "traffic_percentage": "50",
            "primary_metric": "thumbs_up_rate",
            "correction": "holm",
            "target_units_per_variant": "500",
        },
    )
    assert response.status_code == 400
    assert "is not a variant of llm-model" in response.content.decode()


@pytest.mark.django_db
def test_the_results_page_shows_summary_table_charts_and_srm(
    admin_client: Client, demo: Any
) -> None:
    experiment = running_experiment()
    traffic_simulate(experiment=experiment, users=900, seed=2, srm_loss=0.35)
    experiment_compute_results(experiment_id=experiment.pk)
    experiment_compute_results(experiment_id=experiment.pk, refresh=True)
    page = admin_client.get("/experiments/model-test/").content.decode()
    assert 'id="exp-summary"' in page and "thumbs-up rate" in page
    assert 'id="exp-metrics"' in page and "Cost per query" in page
    assert '<svg class="exp-forest"' in page and "<circle" in page
    assert '<svg class="exp-timeline"' in page
    assert "Sample ratio mismatch" in page and "Concluding is blocked" in page
    assert "style=" not in page and "<script>" not in page  # the CSP allows neither
    # Concluding is refused until the SRM is acknowledged
    admin_client.post("/experiments/model-test/conclude", {"ship": "gpt-4"})
    assert Experiment.objects.get(pk=experiment.pk).status == Status.RUNNING
    admin_client.post("/experiments/model-test/acknowledge-srm")
    admin_client.post("/experiments/model-test/conclude", {"ship": "gpt-4"})
    assert Experiment.objects.get(pk=experiment.pk).status == Status.CONCLUDED


@pytest.mark.django_db
def test_htmx_gets_only_the_results_partial(admin_client: Client, demo: Any) -> None:
    running_experiment()
    response = admin_client.get("/experiments/model-test/", HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert "No results yet" in body and "<html" not in body


@pytest.mark.django_db
def test_results_as_csv(admin_client: Client, demo: Any) -> None:
    experiment = running_experiment()
    traffic_simulate(experiment=experiment, users=200, seed=3)
    experiment_compute_results(experiment_id=experiment.pk)
    for url in (
        "/experiments/model-test/results.csv",
        "/api/v1/experiments/model-test/results.csv",
    ):
        response = admin_client.get(url)
        assert response["Content-Type"] == "text/csv"
        rows = list(csv.DictReader(io.StringIO(response.content.decode())))
        primary = [r for r in rows if r["metric"] == "thumbs_up_rate"]
        assert {r["variant"] for r in primary} == {"gpt-4", "gpt-4-turbo"}
        assert primary[1]["p_value"] != ""


@pytest.mark.django_db
def test_the_management_api_creates_starts_and_reads_results(
    admin_client: Client, demo: Any
) -> None:
    body = {
        "key": "api-test",
        "flag": "llm-model",
        "environment": "development",
        "control": "gpt-4",
        "treatments": ["gpt-4-turbo"],
        "primary_metric": "error_rate",
    }
    created = admin_client.post(
        "/api/v1/experiments", json.dumps(body), content_type="application/json"
    )
    assert created.status_code == 201, created.content
    assert created.json()["status"] == "draft"
    assert len(created.json()["guardrails"]) == 4  # the defaults
    started = admin_client.post(
        "/api/v1/experiments/api-test/start", "{}", content_type="application/json"
    )
    assert started.json()["status"] == "running"
    refreshed = admin_client.post(
        "/api/v1/experiments/api-test/refresh", "{}", content_type="application/json"
    )
    assert refreshed.json()["latest_result"]["data"]["control"] == "gpt-4"
    assert ExperimentResult.objects.count() == 1
    bad = admin_client.post(
        "/api/v1/experiments",
        json.dumps(body | {"key": "x", "primary_metric": "nope"}),
        content_type="application/json",
    )
    assert bad.status_code == 400 and "primary_metric" in bad.json()["error"]["fields"]
    listed = admin_client.get("/api/v1/experiments").json()
    assert [e["key"] for e in listed] == ["api-test"]
