"""OFREP (open-feature/protocol service/openapi.yaml): shapes, reasons and error codes."""

from __future__ import annotations

from typing import Any

import pytest

from flags.changes import Actor, flag_create
from tests.flags.test_api_support import (  # noqa: F401  (autouse fixture)
    CLIENT,
    SERVER,
    _fresh_key_cache,
    post_json,
)

FLAG = "/ofrep/v1/evaluate/flags/"
BULK = "/ofrep/v1/evaluate/flags"
INTERNAL = {"targetingKey": "alice", "email": "alice@flagsite.dev"}


@pytest.mark.django_db
def test_single_flag_success(client: Any, demo: Any) -> None:
    response = post_json(client, FLAG + "llm-model", {"context": INTERNAL}, **CLIENT)
    assert response.status_code == 200
    assert response.json() == {
        "key": "llm-model",
        "value": "gpt-4-turbo",
        "reason": "TARGETING_MATCH",
        "variant": "gpt-4-turbo",
    }


@pytest.mark.django_db
def test_server_keys_get_the_rule_id_as_metadata(client: Any, demo: Any) -> None:
    response = post_json(client, FLAG + "llm-model", {"context": INTERNAL}, **SERVER)
    assert response.json()["metadata"] == {"ruleId": "internal"}


@pytest.mark.django_db
def test_disabled_flag_serves_the_off_variant(client: Any, demo: Any) -> None:
    flag_create(
        key="dark-mode",
        name="",
        kind="boolean",
        actor=Actor(label="t"),
        variants=[{"key": "on", "value": True}, {"key": "off", "value": False}],
    )
    response = post_json(client, FLAG + "dark-mode", {"context": INTERNAL}, **CLIENT)
    assert response.status_code == 200
    assert response.json() == {
        "key": "dark-mode",
        "value": False,
        "reason": "DISABLED",
        "variant": "off",
    }


@pytest.mark.django_db
def test_unknown_flag_is_404_flag_not_found(client: Any, demo: Any) -> None:
    response = post_json(client, FLAG + "nope", {"context": INTERNAL}, **CLIENT)
    assert response.status_code == 404
    assert response.json()["key"] == "nope"
    assert response.json()["errorCode"] == "FLAG_NOT_FOUND"
    assert response.json()["errorDetails"]


@pytest.mark.django_db
@pytest.mark.parametrize("body", ["", "{}", '{"context": null}', '{"context": {}}'])
def test_no_context_is_tolerated(client: Any, demo: Any, body: str) -> None:
    response = client.post(FLAG + "llm-model", body, content_type="application/json", **CLIENT)
    assert response.status_code == 200
    assert response.json()["variant"] == "gpt-4-turbo"


@pytest.mark.django_db
def test_targeting_key_missing_when_the_flag_buckets(client: Any, demo: Any) -> None:
    # rag-config splits 50/50 by key in development: without a key there is nothing to bucket.
    response = post_json(client, FLAG + "rag-config", {"context": {"tier": "free"}}, **CLIENT)
    assert response.status_code == 400
    assert response.json()["errorCode"] == "TARGETING_KEY_MISSING"
    ok = post_json(client, FLAG + "rag-config", {"context": {"targetingKey": "u1"}}, **CLIENT)
    assert ok.status_code == 200
    assert ok.json()["reason"] == "SPLIT"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "code"),
    [
        ("{not json", "PARSE_ERROR"),
        ("[]", "PARSE_ERROR"),
        ('"text"', "PARSE_ERROR"),
        ('{"context": "alice"}', "INVALID_CONTEXT"),
        ('{"context": {"targetingKey": {"id": 1}}}', "INVALID_CONTEXT"),
        ('{"context": {"targetingKey": true}}', "INVALID_CONTEXT"),
    ],
)
def test_malformed_requests_name_the_problem(client: Any, demo: Any, body: str, code: str) -> None:
    single = client.post(FLAG + "llm-model", body, content_type="application/json", **CLIENT)
    assert single.status_code == 400
    assert single.json()["key"] == "llm-model"
    assert single.json()["errorCode"] == code
    assert single.json()["errorDetails"]
    bulk = client.post(BULK, body, content_type="application/json", **CLIENT)
    assert bulk.status_code == 400
    assert bulk.json()["errorCode"] == code
    if code == "INVALID_CONTEXT":
        assert "context" in bulk.json()["errorDetails"]


@pytest.mark.django_db
def test_bulk_evaluates_every_flag_with_etag_and_304(client: Any, demo: Any) -> None:
    response = post_json(client, BULK, {"context": INTERNAL}, **CLIENT)
    assert response.status_code == 200
    items = {item["key"]: item for item in response.json()["flags"]}
    assert set(items) == {"llm-model", "prompt-version", "rag-config", "new-rag-pipeline"}
    assert all("variant" in item and "reason" in item for item in items.values())
    again = post_json(
        client, BULK, {"context": INTERNAL}, HTTP_IF_NONE_MATCH=response["ETag"], **CLIENT
    )
    assert again.status_code == 304
    assert again.content == b""


@pytest.mark.django_db
def test_bulk_without_a_key_reports_per_flag_failures(client: Any, demo: Any) -> None:
    response = client.post(BULK, "", content_type="application/json", **CLIENT)
    assert response.status_code == 200
    items = {item["key"]: item for item in response.json()["flags"]}
    assert items["llm-model"]["variant"] == "gpt-4-turbo"
    assert items["rag-config"] == {
        "key": "rag-config",
        "errorCode": "TARGETING_KEY_MISSING",
        "errorDetails": items["rag-config"]["errorDetails"],
    }


@pytest.mark.django_db
def test_auth_errors(client: Any, demo: Any) -> None:
    assert post_json(client, BULK, {}).status_code == 401
    assert post_json(client, BULK, {}, HTTP_X_API_KEY="fs_cli_nope").status_code == 401


@pytest.mark.django_db
def test_configuration_extension(client: Any, demo: Any) -> None:
    response = client.get("/ofrep/v1/configuration", **CLIENT)
    assert response.status_code == 200
    assert response.json()["name"] == "flagsite"
    again = client.get("/ofrep/v1/configuration", HTTP_IF_NONE_MATCH=response["ETag"], **CLIENT)
    assert again.status_code == 304
