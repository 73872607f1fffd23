"""Rate limits (429 + integer Retry-After), CORS for browser endpoints, and a dead Redis.
The per-IP and unknown-key limits: test_client_limits.py; never over with Redis:
test_limits_exact.py; the CORS policy of every endpoint: test_cors.py."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.flags.test_api_support import (  # noqa: F401  (autouse fixture)
    CLIENT,
    SERVER,
    _fresh_key_cache,
    post_json,
)
from tests.services import redis_url

EVALUATE = "/api/v1/evaluate"
CONTEXT = {"context": {"key": "u1"}}


def _redis_cache(url: str) -> dict[str, Any]:
    return {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": url,
            # A prefix of our own, never a flush: other test runs may share this Redis database.
            "KEY_PREFIX": f"flagsite-test-api-{uuid.uuid4().hex}",
            "OPTIONS": {"socket_connect_timeout": 0.25, "socket_timeout": 0.25},
        }
    }


def _assert_limited(client: Any, settings: Any) -> None:
    settings.FLAGSITE_RATE_LIMIT_PER_MINUTE = 3
    settings.FLAGSITE_RATE_LIMIT_CLIENT_PER_IP = 3  # client keys count per caller IP
    for _ in range(3):
        assert post_json(client, EVALUATE, CONTEXT, **CLIENT).status_code == 200
    limited = post_json(client, EVALUATE, CONTEXT, **CLIENT)
    assert limited.status_code == 429
    assert 1 <= int(limited["Retry-After"]) <= 61
    assert limited.json()["error"]["code"] == "throttled"
    ofrep = post_json(client, "/ofrep/v1/evaluate/flags/llm-model", CONTEXT, **CLIENT)
    assert ofrep.status_code == 429
    assert ofrep["Retry-After"].isdigit()
    # The limit is per key: the server key still has its whole budget.
    assert client.get("/api/v1/sdk/ruleset", **SERVER).status_code == 200


@pytest.mark.django_db
def test_rate_limit_per_key_in_process_cache(client: Any, demo: Any, settings: Any) -> None:
    _assert_limited(client, settings)


@pytest.mark.django_db
def test_rate_limit_per_key_in_redis(client: Any, demo: Any, settings: Any) -> None:
    settings.CACHES = _redis_cache(redis_url())
    _assert_limited(client, settings)


@pytest.mark.django_db
def test_no_rate_limit_when_disabled(client: Any, demo: Any, settings: Any) -> None:
    settings.FLAGSITE_RATE_LIMIT_PER_MINUTE = 0
    for _ in range(5):
        assert post_json(client, EVALUATE, CONTEXT, **CLIENT).status_code == 200


@pytest.mark.django_db
def test_dead_redis_never_causes_a_5xx(client: Any, demo: Any, settings: Any) -> None:
    settings.CACHES = _redis_cache("redis://127.0.0.1:1/0")
    for _ in range(4):
        assert post_json(client, EVALUATE, CONTEXT, **CLIENT).status_code == 200
    assert client.get("/api/v1/sdk/ruleset", **SERVER).status_code == 200
    assert post_json(client, "/ofrep/v1/evaluate/flags", CONTEXT, **CLIENT).status_code == 200
    assert (
        post_json(client, "/ofrep/v1/evaluate/flags/llm-model", CONTEXT, **CLIENT).status_code
        == 200
    )


@pytest.mark.django_db
@pytest.mark.django_db
def test_dead_redis_still_limits_per_process(client: Any, demo: Any, settings: Any) -> None:
    settings.CACHES = _redis_cache("redis://127.0.0.1:1/0")
    _assert_limited(client, settings)


@pytest.mark.django_db
def test_cors_preflight_and_exposed_etag(client: Any, demo: Any) -> None:
    preflight = client.options(
        EVALUATE,
        HTTP_ORIGIN="https://app.example",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization, content-type",
    )
    assert preflight.status_code == 204
    assert preflight["Access-Control-Allow-Origin"] == "*"
    assert "POST" in preflight["Access-Control-Allow-Methods"]
    assert "Authorization" in preflight["Access-Control-Allow-Headers"]
    response = post_json(client, EVALUATE, CONTEXT, HTTP_ORIGIN="https://app.example", **CLIENT)
    assert response["Access-Control-Allow-Origin"] == "*"
    assert "ETag" in response["Access-Control-Expose-Headers"]
    ofrep = post_json(
        client, "/ofrep/v1/evaluate/flags", CONTEXT, HTTP_ORIGIN="https://app.example", **CLIENT
    )
    assert ofrep["Access-Control-Allow-Origin"] == "*"


@pytest.mark.django_db
def test_cors_allow_list_and_other_paths(client: Any, demo: Any, settings: Any) -> None:
    settings.FLAGSITE_CORS_ALLOWED_ORIGINS = ["https://good.example"]
    good = post_json(client, EVALUATE, CONTEXT, HTTP_ORIGIN="https://good.example", **CLIENT)
    assert good["Access-Control-Allow-Origin"] == "https://good.example"
    assert "Origin" in good["Vary"]
    bad = post_json(client, EVALUATE, CONTEXT, HTTP_ORIGIN="https://evil.example", **CLIENT)
    assert "Access-Control-Allow-Origin" not in bad
    # The ruleset (server keys) and the management API are not for browsers on other origins.
    ruleset = client.get("/api/v1/sdk/ruleset", HTTP_ORIGIN="https://good.example", **SERVER)
    assert "Access-Control-Allow-Origin" not in ruleset


@pytest.mark.django_db
def test_the_ruleset_fast_path_is_limited_and_counts_each_request_once(
    client: Any, demo: Any, settings: Any
) -> None:
    settings.FLAGSITE_RATE_LIMIT_PER_MINUTE = 3
    first = client.get("/api/v1/sdk/ruleset", **SERVER)
    assert first.status_code == 200
    etag = first["ETag"]
    assert client.get("/api/v1/sdk/ruleset", HTTP_IF_NONE_MATCH=etag, **SERVER).status_code == 304
    assert client.get("/api/v1/sdk/ruleset", HTTP_IF_NONE_MATCH=etag, **SERVER).status_code == 304
    limited = client.get("/api/v1/sdk/ruleset", HTTP_IF_NONE_MATCH=etag, **SERVER)
    assert limited.status_code == 429
    assert limited["Retry-After"].isdigit()
    assert limited.json()["error"]["code"] == "throttled"
    # A client key on the ruleset endpoint still gets DRF's 403, not the fast path.
    settings.FLAGSITE_RATE_LIMIT_PER_MINUTE = 0
    assert client.get("/api/v1/sdk/ruleset", **CLIENT).status_code == 403
