"""The Metrics page: the catalogue, the team metric form (text conditions, errors on the line
at fault), the live preview against a Python computation, archive, the experiment form's
pickers, and viewers reading only."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from experiments.forms_metrics import condition_line, condition_parse
from experiments.guardrails import FORM_ROWS
from experiments.models import MetricDefinition
from feedback.models import LlmCall
from flags.models import AuditEvent, Environment

FORM: dict[str, str] = {
    "key": "search-latency",
    "name": "Search latency",
    "source": "llm_call",
    "kind": "mean",
    "unit": "request",
    "direction": "lower",
    "value": "latency_ms",
    "filters": "feature == search\nmodel in gpt-4o, gpt-4o-mini",
    "format": "ms",
}


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_condition_lines_round_trip() -> None:
    parsed = condition_parse("latency_ms >= 250", "llm_call")
    assert parsed == {"field": "latency_ms", "op": "gte", "value": 250.0}
    assert condition_parse("error == true", "llm_call")["value"] is True
    assert condition_parse('model == "a b"', "llm_call")["value"] == "a b"
    assert condition_parse("feature in search, chat", "llm_call")["value"] == ["search", "chat"]
    assert condition_line(parsed) == "latency_ms >= 250"
    assert condition_parse("nonsense", "llm_call")["op"] == ""


@pytest.mark.django_db
def test_an_editor_creates_a_metric_with_the_form(editor_user: Any) -> None:
    client = _client(editor_user)
    assert client.get("/metrics/new").status_code == 200
    response = client.post("/metrics/new", FORM)
    assert response.status_code == 302, response.content.decode()[:2000]
    saved = MetricDefinition.objects.get(key="search-latency")
    assert saved.filters == [
        {"field": "feature", "op": "eq", "value": "search"},
        {"field": "model", "op": "in", "value": ["gpt-4o", "gpt-4o-mini"]},
    ]
    page = client.get("/metrics/").content.decode()
    assert "Search latency" in page and "where feature == search" in page
    assert "Hallucination rate" in page  # the built-ins, read-only
    edit = client.get("/metrics/search-latency/").content.decode()
    assert "feature == search\nmodel in gpt-4o, gpt-4o-mini" in edit
    audit = AuditEvent.objects.get(object_type="metric", action="metric.created")
    assert 'href="/metrics/search-latency/"' in client.get(f"/audit/{audit.pk}/").content.decode()


@pytest.mark.django_db
def test_a_bad_line_is_an_error_on_the_filters_field(editor_user: Any) -> None:
    bad = {**FORM, "filters": "feature == search\nenvironment__name == prod"}
    response = _client(editor_user).post("/metrics/new", bad)
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert "line 2" in errors["filters"][0] and "Not a field of llm_call" in errors["filters"][0]
    assert not MetricDefinition.objects.exists()


@pytest.mark.django_db
def test_viewers_see_the_page_but_cannot_save(viewer_user: Any) -> None:
    client = _client(viewer_user)
    page = client.get("/metrics/").content.decode()
    assert "New metric" not in page
    assert client.post("/metrics/new", FORM).status_code == 403
    assert not MetricDefinition.objects.exists()


@pytest.mark.django_db
def test_the_preview_equals_the_mean_of_the_events(demo: Any, viewer_user: Any) -> None:
    env = Environment.objects.get(key="development")
    now = timezone.now()
    LlmCall.objects.all().delete()
    values = [(120.0, "search"), (80.0, "search"), (1000.0, "chat"), (50.0, "search")]
    for i, (latency, feature) in enumerate(values):
        LlmCall.objects.create(
            environment=env,
            event_id=f"p{i}",
            timestamp=now - timedelta(days=1 if i < 3 else 9),  # the last one is too old
            received_at=now,
            user_key=f"u{i}",
            model="gpt-4o",
            feature=feature,
            latency_ms=latency,
        )
    query = {**FORM, "preview_environment": "development"}
    response = _client(viewer_user).get("/metrics/preview", query)
    assert response.status_code == 200
    assert response.context["preview"].value == pytest.approx(100.0)
    assert response.context["preview"].n == 2
    p50 = {**query, "kind": "quantile", "quantile": "0.5", "filters": ""}
    assert _client(viewer_user).get("/metrics/preview", p50).context["preview"].value == 120.0
    unnamed = _client(viewer_user).get("/metrics/preview", {**query, "key": "", "name": ""})
    assert unnamed.context["preview"].value == pytest.approx(100.0)  # preview before naming
    broken = _client(viewer_user).get("/metrics/preview", {**query, "value": "model"})
    assert broken.status_code == 400 and "value" in broken.context["error"]
    hostile = {**query, "existing": "a\x00b", "preview_environment": "dev\x00"}
    assert _client(viewer_user).get("/metrics/preview", hostile).status_code == 400


@pytest.mark.django_db
def test_team_metrics_are_in_the_experiment_pickers_until_archived(
    demo: Any, editor_user: Any
) -> None:
    client = _client(editor_user)
    client.post("/metrics/new", FORM)
    form = client.get("/experiments/new").content.decode()
    # the primary and secondary pickers, and each guardrail row's (experiments.guardrails)
    assert form.count('value="search-latency"') == 2 + FORM_ROWS
    assert client.post("/metrics/search-latency/archive").status_code == 302
    assert MetricDefinition.objects.get(key="search-latency").archived
    assert 'value="search-latency"' not in client.get("/experiments/new").content.decode()
    assert "Show 1 archived" in client.get("/metrics/").content.decode()
    client.post("/metrics/search-latency/restore")
    assert not MetricDefinition.objects.get(key="search-latency").archived
