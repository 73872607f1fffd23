"""The metric catalogue in the management API: list, create, read, update, archive; malformed
and hostile bodies answer 400 naming the field; viewers read but never write."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from experiments.models import MetricDefinition
from flags.models import AuditEvent
from tests.experiments.builders import SEARCH_LATENCY, running_experiment


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _post(client: Client, path: str, body: Any) -> Any:
    return client.post(path, json.dumps(body), content_type="application/json")


def _patch(client: Client, path: str, body: Any) -> Any:
    return client.patch(path, json.dumps(body), content_type="application/json")


@pytest.mark.django_db
def test_the_list_is_the_one_catalogue(editor_user: Any) -> None:
    client = _client(editor_user)
    assert _post(client, "/api/v1/metrics", SEARCH_LATENCY).status_code == 201
    rows = client.get("/api/v1/metrics").json()
    by_key = {r["key"]: r for r in rows}
    assert by_key["p95_latency_ms"]["builtin"] is True
    assert by_key["search-latency"] | {"reads": None} == {
        "key": "search-latency",
        "name": "Search latency",
        "description": "",
        "builtin": False,
        "kind": "mean",
        "unit": "request",
        "direction": "lower",
        "source": "llm_call",
        "format": "ms",
        "reads": None,
        "archived": False,
    }


@pytest.mark.django_db
def test_create_read_update_archive_restore(editor_user: Any) -> None:
    client = _client(editor_user)
    created = _post(client, "/api/v1/metrics", SEARCH_LATENCY)
    assert created.status_code == 201, created.content
    assert created.json()["filters"] == SEARCH_LATENCY["filters"]
    assert client.get("/api/v1/metrics/search-latency").json()["used_by"] == []
    changed = _patch(
        client,
        "/api/v1/metrics/search-latency",
        {"filters": [{"field": "feature", "op": "in", "value": ["search", "chat"]}]},
    )
    assert changed.status_code == 200, changed.content
    assert changed.json()["filters"][0]["value"] == ["search", "chat"]
    assert changed.json()["name"] == "Search latency"  # untouched fields keep their values
    assert _post(client, "/api/v1/metrics/search-latency/archive", {}).json()["archived"] is True
    keys = [r["key"] for r in client.get("/api/v1/metrics").json()]
    assert "search-latency" not in keys
    keys = [r["key"] for r in client.get("/api/v1/metrics?archived=true").json()]
    assert "search-latency" in keys
    assert _post(client, "/api/v1/metrics/search-latency/restore", {}).json()["archived"] is False
    assert list(
        AuditEvent.objects.filter(object_key="search-latency").values_list("action", flat=True)
    ) == ["metric.restored", "metric.archived", "metric.updated", "metric.created"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "field"),
    [
        ([1, 2, 3], "non_field_errors"),
        ("a string", "non_field_errors"),
        ({**SEARCH_LATENCY, "key": "has space"}, "key"),
        ({**SEARCH_LATENCY, "key": "x\u0000"}, "key"),
        ({**SEARCH_LATENCY, "name": "\ud83d"}, "name"),
        ({**SEARCH_LATENCY, "source": {"$ne": 1}}, "source"),
        ({**SEARCH_LATENCY, "value": "latency_ms) OR 1=1 --"}, "value"),
        ({**SEARCH_LATENCY, "filters": {"field": "model"}}, "filters"),
        ({**SEARCH_LATENCY, "filters": [None]}, "filters[0]"),
        ({**SEARCH_LATENCY, "filters": [{"field": "environment__name", "op": "eq", "value": 1}]},
         "filters[0].field"),
        ({**SEARCH_LATENCY, "filters": [{"field": "model", "op": "in", "value": ["a"] * 51}]},
         "filters[0].value"),
        ({**SEARCH_LATENCY, "kind": "quantile", "quantile": "0.9"}, "quantile"),
        ({**SEARCH_LATENCY, "kind": "quantile", "quantile": 0}, "quantile"),
    ],
)  # fmt: skip
def test_malformed_bodies_answer_400_naming_the_field(
    editor_user: Any, body: Any, field: str
) -> None:
    response = _client(editor_user).post(
        "/api/v1/metrics", json.dumps(body), content_type="application/json"
    )
    assert response.status_code == 400, response.content
    assert field in response.json()["error"]["fields"], response.json()
    assert not MetricDefinition.objects.exists()


@pytest.mark.django_db
def test_unparsable_json_is_a_400(editor_user: Any) -> None:
    response = _client(editor_user).post(
        "/api/v1/metrics", "{not json", content_type="application/json"
    )
    assert response.status_code == 400


@pytest.mark.django_db
def test_viewers_read_but_do_not_write(viewer_user: Any, editor_user: Any) -> None:
    _post(_client(editor_user), "/api/v1/metrics", SEARCH_LATENCY)
    viewer = _client(viewer_user)
    assert viewer.get("/api/v1/metrics/search-latency").status_code == 200
    assert _post(viewer, "/api/v1/metrics", {**SEARCH_LATENCY, "key": "other"}).status_code == 403
    assert _patch(viewer, "/api/v1/metrics/search-latency", {"name": "x"}).status_code == 403
    assert _post(viewer, "/api/v1/metrics/search-latency/archive", {}).status_code == 403
    assert Client().get("/api/v1/metrics").status_code in (401, 403)


@pytest.mark.django_db
def test_a_running_experiment_refuses_definition_changes(demo: Any, admin_user: Any) -> None:
    client = _client(admin_user)
    _post(client, "/api/v1/metrics", SEARCH_LATENCY)
    running_experiment(secondary_metrics=["search-latency"])
    refused = _patch(client, "/api/v1/metrics/search-latency", {"direction": "higher"})
    assert refused.status_code == 400
    assert "model-test" in refused.json()["error"]["fields"]["direction"][0]
    renamed = _patch(client, "/api/v1/metrics/search-latency", {"name": "Search p-latency"})
    assert renamed.status_code == 200 and renamed.json()["used_by"] == ["model-test"]
    assert client.get("/api/v1/metrics/mean_rating").status_code == 404  # built-ins: the list
    assert client.get("/api/v1/metrics/search-latency/explode").status_code == 405
    assert _post(client, "/api/v1/metrics/search-latency/explode", {}).status_code == 404


@pytest.mark.django_db
def test_the_schema_documents_the_endpoints(client: Any) -> None:
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    assert {"/api/v1/metrics", "/api/v1/metrics/{key}", "/api/v1/metrics/{key}/{action}"} <= set(
        schema["paths"]
    )
    assert "patch" in schema["paths"]["/api/v1/metrics/{key}"]
