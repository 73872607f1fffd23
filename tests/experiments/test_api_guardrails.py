"""PATCH /api/v1/experiments/<key>: a running experiment's guardrails through the management
API, by the same rules and audit record as the experiment page's editor."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from experiments.lifecycle import experiment_conclude
from experiments.metrics import DEFAULT_GUARDRAILS
from flags.models import AuditEvent
from tests.experiments.builders import SYSTEM, running_experiment

URL = "/api/v1/experiments/model-test"


def _patch(client: Client, body: Any) -> Any:
    raw = body if isinstance(body, str) else json.dumps(body)
    return client.patch(URL, raw, content_type="application/json")


def test_an_editor_replaces_the_guardrails_and_the_change_is_audited(
    client: Client, editor_user: Any, demo: Any
) -> None:
    experiment = running_experiment()
    client.force_login(editor_user)
    body = {
        "guardrails": [{"metric": "error_rate", "max": 0.02}, {"metric": "mean_rating", "min": 3}],
        "comment": "errors are noisy this week",
    }
    response = _patch(client, body)
    assert response.status_code == 200, response.content
    assert response.json()["guardrails"] == [
        {"metric": "error_rate", "max": 0.02},
        {"metric": "mean_rating", "min": 3.0},
    ]
    experiment.refresh_from_db()
    assert experiment.guardrails == response.json()["guardrails"]
    event = AuditEvent.objects.get(action="experiment.guardrails_changed")
    assert event.actor == editor_user and event.comment == "errors are noisy this week"
    assert event.diff[0]["before"] == list(DEFAULT_GUARDRAILS)
    # The same guardrails again: nothing changes, nothing is recorded
    assert _patch(client, body).status_code == 200
    assert AuditEvent.objects.filter(action="experiment.guardrails_changed").count() == 1


@pytest.mark.parametrize(
    ("body", "field", "fragment"),
    [
        ("{not json", "", "JSON"),
        ({}, "guardrails", "required"),
        ({"guardrails": "error_rate"}, "guardrails", "list"),
        ({"guardrails": [{"metric": "error_rate", "max": -1}]}, "guardrails", "guardrails[0]"),
        ({"guardrails": [{"metric": "nope", "max": 1}]}, "guardrails", "Unknown"),
        ({"guardrails": [{"metric": "error_rate", "max": 0.1, "min": 0}]}, "guardrails", "one"),
        ({"guardrails": [{"metric": "error_rate", "max": 1}] * 2}, "guardrails", "already"),
        ({"guardrails": [{"metric": "error_rate", "max": 0.1}] * 11}, "guardrails", "At most"),
        ({"guardrails": [], "comment": "x" * 1001}, "comment", "1000"),
    ],
)
def test_malformed_bodies_are_refused_naming_the_field_and_change_nothing(
    admin_client: Client, demo: Any, body: Any, field: str, fragment: str
) -> None:
    experiment = running_experiment()
    response = _patch(admin_client, body)
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    text = json.dumps(error["fields"][field]) if field else json.dumps(error)
    assert fragment in text
    experiment.refresh_from_db()
    assert experiment.guardrails == list(DEFAULT_GUARDRAILS)
    assert not AuditEvent.objects.filter(action="experiment.guardrails_changed").exists()


def test_viewers_are_refused_and_a_concluded_experiment_does_not_change(
    client: Client, viewer_user: Any, admin_user: Any, demo: Any
) -> None:
    experiment = running_experiment()
    body = {"guardrails": [{"metric": "error_rate", "max": 0.02}]}
    client.force_login(viewer_user)
    assert _patch(client, body).status_code == 403
    experiment_conclude(experiment=experiment, ship="gpt-4", actor=SYSTEM)
    client.force_login(admin_user)
    response = _patch(client, body)
    assert response.status_code == 400
    assert "Only a draft or running experiment" in response.json()["error"]["fields"]["status"][0]
    experiment.refresh_from_db()
    assert experiment.guardrails == list(DEFAULT_GUARDRAILS)


def test_an_unknown_experiment_is_404(admin_client: Client, demo: Any) -> None:
    response = admin_client.patch(
        "/api/v1/experiments/nope", json.dumps({"guardrails": []}), content_type="application/json"
    )
    assert response.status_code == 404


@pytest.mark.parametrize("key", ["error\x00rate", "error\ud800rate", "x" * 10_000])
def test_unstorable_or_huge_metric_keys_are_a_400(
    admin_client: Client, demo: Any, key: str
) -> None:
    running_experiment()
    body = '{"guardrails": [{"metric": ' + json.dumps(key) + ', "max": 1}]}'
    response = _patch(admin_client, body)
    assert response.status_code == 400, response.content
    assert "guardrails" in json.dumps(response.json()["error"])


def test_an_unstorable_comment_is_a_400_naming_it(admin_client: Client, demo: Any) -> None:
    running_experiment()
    body = '{"guardrails": [{"metric": "error_rate", "max": 0.02}], "comment": "no\\ud800"}'
    response = _patch(admin_client, body)
    assert response.status_code == 400, response.content
    assert "surrogate" in response.json()["error"]["fields"]["comment"][0].lower()
    assert not AuditEvent.objects.filter(action="experiment.guardrails_changed").exists()
