"""POST /api/v1/feedback: stored once, validation naming fields, CORS, 413, rate limits."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client, override_settings

from feedback.models import Feedback

from .conftest import FEEDBACK_URL, Keys, feedback, post_json

pytestmark = pytest.mark.django_db


def _post(client: Client, key: str, body: Any, **extra: Any) -> Any:
    return post_json(client, FEEDBACK_URL, body, key=key, **extra)


def test_the_documented_example_is_stored(client: Client, keys: Keys) -> None:
    body = {
        "id": "fb-123",
        "conversation_id": "conv-9",
        "request_id": "req-1",
        "user_key": "u-42",
        "type": "thumbs_down",
        "rating": 2,
        "comment": "made up a citation",
        "category": "hallucination",
    }
    response = _post(client, keys.client, body)
    assert response.status_code == 201
    assert response.json() == {"id": "fb-123", "status": "stored"}
    row = Feedback.objects.get()
    assert (row.environment, row.type, row.rating, row.category, row.comment) == (
        keys.environment,
        "thumbs_down",
        2,
        "hallucination",
        "made up a citation",
    )
    assert (row.conversation_id, row.request_id, row.user_key) == ("conv-9", "req-1", "u-42")


def test_a_retry_is_a_duplicate_and_stored_once(client: Client, keys: Keys) -> None:
    assert _post(client, keys.client, feedback("fb-1")).status_code == 201
    again = _post(client, keys.client, feedback("fb-1", comment="changed my mind"))
    assert again.status_code == 200
    assert again.json() == {"id": "fb-1", "status": "duplicate"}
    assert Feedback.objects.get().comment == ""


def test_a_server_key_may_send_feedback_too(client: Client, keys: Keys) -> None:
    assert _post(client, keys.server, feedback(type="thumbs_up")).status_code == 201


def test_no_key_is_401_and_unknown_key_is_401(client: Client, keys: Keys) -> None:
    assert post_json(client, FEEDBACK_URL, feedback()).status_code == 401
    assert _post(client, "fs_cli_unknown", feedback()).status_code == 401
    assert Feedback.objects.count() == 0


def test_a_personal_token_is_not_an_api_key(client: Client, keys: Keys) -> None:
    response = post_json(client, FEEDBACK_URL, feedback(), HTTP_AUTHORIZATION="Token fs_pat_x")
    assert response.status_code == 401


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"rating": 0}, "rating", "must be between 1 and 5"),
        ({"rating": 6}, "rating", "must be between 1 and 5"),
        ({"rating": "5"}, "rating", "must be an integer between 1 and 5"),
        ({"rating": 4.5}, "rating", "must be an integer between 1 and 5"),
        ({"rating": True}, "rating", "must be an integer between 1 and 5"),
        (
            {"category": "rude"},
            "category",
            "must be one of hallucination, irrelevant, formatting, safety, other",
        ),
        (
            {"category": ["safety"]},
            "category",
            "must be one of hallucination, irrelevant, formatting, safety, other",
        ),
        ({"type": "meh"}, "type", "must be one of thumbs_up, thumbs_down"),
        ({"type": None}, "type", "is required"),
        ({"id": None}, "id", "is required"),
        ({"id": 5}, "id", "must be a string"),
        ({"comment": "x" * 5001}, "comment", "must be at most 5000 characters"),
        ({"comment": 42}, "comment", "must be a string"),
        ({"conversation_id": {"a": 1}}, "conversation_id", "must be a string"),
        ({"request_id": "r" * 129}, "request_id", "must be at most 128 characters"),
        ({"user_key": 42}, "user_key", "must be a string"),
        ({"timestamp": "soon"}, "timestamp", "must be an RFC 3339 string"),
        ({"timestamp": "2001-01-01T00:00:00Z"}, "timestamp", "must be at most 7 days old"),
    ],
)
def test_each_validation_error_names_its_field(
    client: Client, keys: Keys, changes: dict[str, Any], field: str, message: str
) -> None:
    body = {k: v for k, v in {**feedback(), **changes}.items() if v is not None}
    response = _post(client, keys.client, body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert error["fields"][field] == [message]
    assert error["message"] == f"{field}: {message}"
    assert Feedback.objects.count() == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [("{oops", "body"), ("[1, 2]", "body"), ('"thumbs_up"', "body"), ("", "body")],
)
def test_malformed_bodies_answer_400(client: Client, keys: Keys, body: str, field: str) -> None:
    response = _post(client, keys.client, body)
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]


def test_unknown_fields_are_ignored(client: Client, keys: Keys) -> None:
    response = _post(client, keys.client, feedback(widget_version="1.2", extra={"x": 1}))
    assert response.status_code == 201


def test_a_comment_of_5000_characters_is_fine(client: Client, keys: Keys) -> None:
    assert _post(client, keys.client, feedback(comment="é" * 5000)).status_code == 201


def test_an_oversized_body_is_413(client: Client, keys: Keys) -> None:
    body = json.dumps(feedback(comment="x" * 5000, padding="y" * 70_000))
    response = _post(client, keys.client, body)
    assert response.status_code == 413
    assert response["Access-Control-Allow-Origin"] == "*"


def test_the_cors_preflight_needs_no_key(client: Client, keys: Keys) -> None:
    response = client.options(
        FEEDBACK_URL,
        HTTP_ORIGIN="https://chat.example.com",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization, content-type",
    )
    assert response.status_code == 204
    assert response["Access-Control-Allow-Origin"] == "*"
    assert "POST" in response["Access-Control-Allow-Methods"]
    allowed = response["Access-Control-Allow-Headers"].lower()
    assert "authorization" in allowed and "content-type" in allowed
    assert int(response["Access-Control-Max-Age"]) > 0


def test_answers_and_errors_carry_cors_headers(client: Client, keys: Keys) -> None:
    ok = _post(client, keys.client, feedback(), HTTP_ORIGIN="https://chat.example.com")
    bad = _post(client, keys.client, feedback("fb-2", rating=9))
    unauthenticated = post_json(client, FEEDBACK_URL, feedback("fb-3"))
    for response in (ok, bad, unauthenticated):
        assert response["Access-Control-Allow-Origin"] == "*"
    assert "Retry-After" in ok["Access-Control-Expose-Headers"]


@override_settings(FEEDBACK_RATE_LIMIT_PER_KEY=2, FEEDBACK_RATE_LIMIT_PER_IP=100)
def test_the_client_key_is_rate_limited(client: Client, keys: Keys) -> None:
    assert _post(client, keys.client, feedback("a")).status_code == 201
    assert _post(client, keys.client, feedback("b")).status_code == 201
    response = _post(client, keys.client, feedback("c"))
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 61
    assert response["Access-Control-Allow-Origin"] == "*"
    assert response.json()["error"]["code"] == "throttled"
    # Another key (same IP) is not affected.
    assert _post(client, keys.server, feedback("d")).status_code == 201


@override_settings(FEEDBACK_RATE_LIMIT_PER_KEY=100, FEEDBACK_RATE_LIMIT_PER_IP=2)
def test_the_caller_ip_is_rate_limited_even_with_bad_keys(client: Client, keys: Keys) -> None:
    assert _post(client, "fs_cli_bad", feedback("a")).status_code == 401
    assert _post(client, keys.client, feedback("b")).status_code == 201
    response = _post(client, keys.client, feedback("c"))
    assert response.status_code == 429
    assert int(response["Retry-After"]) >= 1
    # Another address is not affected.
    other = _post(client, keys.client, feedback("d"), REMOTE_ADDR="10.0.0.7")
    assert other.status_code == 201


@override_settings(FEEDBACK_RATE_LIMIT_PER_IP=1, FEEDBACK_PROXY_COUNT=1)
def test_behind_a_proxy_the_ip_comes_from_x_forwarded_for(client: Client, keys: Keys) -> None:
    first = _post(client, keys.client, feedback("a"), HTTP_X_FORWARDED_FOR="203.0.113.1")
    second = _post(client, keys.client, feedback("b"), HTTP_X_FORWARDED_FOR="203.0.113.2")
    third = _post(client, keys.client, feedback("c"), HTTP_X_FORWARDED_FOR="203.0.113.2")
    assert (first.status_code, second.status_code, third.status_code) == (201, 201, 429)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("field", "value", "message"),
    [("id", "fb\x00-1", "NUL"), ("comment", "bad \ud800 surrogate", "surrogate")],
)
def test_text_postgresql_cannot_store_is_a_400_naming_the_field(
    client: Client, keys: Keys, field: str, value: str, message: str
) -> None:
    """Found by schemathesis: JSON allows \\u0000 and lone surrogates, PostgreSQL text does not."""
    body = {"id": "fb-ok", "conversation_id": "c1", "type": "thumbs_down"} | {field: value}
    response = client.post(
        "/api/v1/feedback",
        json.dumps(body),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {keys.client}",
    )
    assert response.status_code == 400
    assert message in response.json()["error"]["fields"][field][0]
    assert not Feedback.objects.exists()
