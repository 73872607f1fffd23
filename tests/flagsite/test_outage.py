"""Issue 10, outages: with the database unreachable, ingestion and key lookups answer a JSON 503
with Retry-After (they were 500 text/html), so the SDK and the widget keep and retry; nothing
acknowledged is lost. /healthz says only "database: down" unless the caller is an operator."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.db import connection
from django.test import Client

from feedback.models import Feedback, LlmCall
from tests.conftest import _make_user

from .conftest import Site
from .outage import database_unreachable

pytestmark = pytest.mark.django_db

JSON = "application/json"
BATCH = {"events": [{"id": "e1", "type": "llm_call", "model": "gpt-4", "prompt_tokens": 3}]}
VOTE = {"id": "fb-1", "conversation_id": "c1", "type": "thumbs_up"}


def assert_retry_later(response: Any) -> None:
    assert response.status_code == 503, response.content[:300]
    assert response["Content-Type"] == "application/json"
    assert int(response["Retry-After"]) > 0
    assert response.json()["error"]["code"] == "unavailable"


def post(client: Client, url: str, body: Any, headers: dict[str, str]) -> Any:
    return client.post(url, json.dumps(body), content_type=JSON, headers=headers)


def test_events_get_503_and_retry_after_then_are_stored_once(client: Client, site: Site) -> None:
    # Given a server key the process has seen (cached), and the database going away
    assert post(client, "/api/v1/events", {"events": []}, site.server).status_code == 400
    with database_unreachable():
        assert_retry_later(post(client, "/api/v1/events", BATCH, site.server))
    # When the client retries after the outage, the batch is stored (once)
    retried = post(client, "/api/v1/events", BATCH, site.server)
    assert retried.status_code == 200 and retried.json()["accepted"] == 1
    assert LlmCall.objects.count() == 1


def test_feedback_gets_503_with_cors_so_the_widget_can_read_it(client: Client, site: Site) -> None:
    post(client, "/api/v1/feedback", {}, site.client)  # the key is now known to the process
    with database_unreachable():
        response = post(client, "/api/v1/feedback", VOTE, site.client)
    assert_retry_later(response)
    assert response["Access-Control-Allow-Origin"] == "*"
    assert "Retry-After" in response["Access-Control-Expose-Headers"]
    assert post(client, "/api/v1/feedback", VOTE, site.client).status_code == 201
    assert Feedback.objects.count() == 1


@pytest.mark.parametrize(
    ("url", "body"),
    [
        ("/api/v1/events", BATCH),
        ("/api/v1/feedback", VOTE),
        ("/api/v1/evaluate", {"context": {}}),
        ("/ofrep/v1/evaluate/flags", {"context": {}}),
    ],
)
def test_a_key_that_cannot_be_looked_up_is_503_not_401(
    client: Client, site: Site, url: str, body: Any
) -> None:
    with database_unreachable():
        assert_retry_later(post(client, url, body, site.client | site.server))


def test_the_management_api_answers_503_too(client: Client, site: Site) -> None:
    client.force_login(_make_user("root", "admin"))
    with database_unreachable():
        assert_retry_later(client.get("/api/v1/flags"))


def test_healthz_tells_strangers_only_that_the_database_is_down(client: Client) -> None:
    with database_unreachable():
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"status": "error", "database": "down"}
    assert int(response["Retry-After"]) > 0
    name = str(connection.settings_dict["NAME"])
    assert name not in response.content.decode()


def test_healthz_tells_an_operator_why(client: Client, site: Site) -> None:
    # A server key works during the outage: the process already knows it.
    assert client.get("/healthz", headers=site.server).json() == {"status": "ok"}
    post(client, "/api/v1/events", {"events": []}, site.server)
    with database_unreachable():
        response = client.get("/healthz", headers=site.server)
        strangers = client.get("/healthz", headers=site.client)  # client keys are public
    assert response.status_code == 503
    assert response.json()["database"] == "down" and response.json()["detail"]
    assert "detail" not in strangers.json()
