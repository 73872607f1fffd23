"""One CORS policy (delivery/cors.py) for every delivery endpoint: the browser endpoints answer
the allowed origins only, the server-key endpoints never answer other origins."""

from __future__ import annotations

from typing import Any

import pytest

from tests.flags.test_api_support import (  # noqa: F401  (autouse fixture)
    CLIENT,
    SERVER,
    _fresh_key_cache,
)

GOOD = "https://good.example"
EVIL = "https://evil.example"
FEEDBACK = {"id": "fb-1", "conversation_id": "c-1", "type": "thumbs_up"}
EXPOSURE = {"id": "ex-1", "type": "exposure", "flag": "llm-model", "variant": "on", "user_key": "u"}

# (method, path, key headers, body) of every delivery endpoint.
BROWSER = [
    ("post", "/api/v1/evaluate", CLIENT, {"context": {"key": "u1"}}),
    ("post", "/ofrep/v1/evaluate/flags", CLIENT, {"context": {"targetingKey": "u1"}}),
    ("post", "/ofrep/v1/evaluate/flags/llm-model", CLIENT, {"context": {"targetingKey": "u1"}}),
    ("get", "/ofrep/v1/configuration", CLIENT, None),
    ("post", "/api/v1/feedback", CLIENT, FEEDBACK),
]
SERVER_ONLY = [
    ("get", "/api/v1/sdk/ruleset", SERVER, None),
    ("post", "/api/v1/events", SERVER, {"events": [EXPOSURE]}),
]


def _call(
    client: Any, method: str, path: str, headers: dict[str, str], body: Any, **extra: Any
) -> Any:
    if method == "get":
        return client.get(path, **headers, **extra)
    return client.post(path, body, content_type="application/json", **headers, **extra)


def _preflight(client: Any, path: str, origin: str) -> Any:
    return client.options(
        path,
        HTTP_ORIGIN=origin,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization, content-type",
    )


@pytest.mark.django_db
@pytest.mark.parametrize(("method", "path", "headers", "body"), BROWSER)
def test_browser_endpoints_answer_allowed_origins_only(
    client: Any, demo: Any, settings: Any, method: str, path: str, headers: Any, body: Any
) -> None:
    settings.FLAGSITE_CORS_ALLOWED_ORIGINS = [GOOD]
    good = _call(client, method, path, headers, body, HTTP_ORIGIN=GOOD)
    assert good.status_code < 300, good.content
    assert good["Access-Control-Allow-Origin"] == GOOD
    assert "Retry-After" in good["Access-Control-Expose-Headers"]
    assert "Origin" in good["Vary"]
    evil = _call(client, method, path, headers, body, HTTP_ORIGIN=EVIL)
    assert "Access-Control-Allow-Origin" not in evil
    assert "Origin" in evil["Vary"]
    # Errors carry the headers too, so the page's script can read them.
    unauthenticated = _call(client, method, path, {}, body, HTTP_ORIGIN=GOOD)
    assert unauthenticated.status_code == 401
    assert unauthenticated["Access-Control-Allow-Origin"] == GOOD


@pytest.mark.django_db
@pytest.mark.parametrize(("method", "path", "headers", "body"), BROWSER)
def test_browser_endpoints_answer_preflights_for_allowed_origins_only(
    client: Any, demo: Any, settings: Any, method: str, path: str, headers: Any, body: Any
) -> None:
    settings.FLAGSITE_CORS_ALLOWED_ORIGINS = [GOOD]
    good = _preflight(client, path, GOOD)
    assert good.status_code == 204
    assert good["Access-Control-Allow-Origin"] == GOOD
    assert method.upper() in good["Access-Control-Allow-Methods"]
    assert "authorization" in good["Access-Control-Allow-Headers"].lower()
    assert int(good["Access-Control-Max-Age"]) > 0
    evil = _preflight(client, path, EVIL)
    assert "Access-Control-Allow-Origin" not in evil
    assert "Access-Control-Allow-Methods" not in evil


@pytest.mark.django_db
@pytest.mark.parametrize(("method", "path", "headers", "body"), BROWSER)
def test_browser_endpoints_answer_any_origin_by_default(
    client: Any, demo: Any, method: str, path: str, headers: Any, body: Any
) -> None:
    response = _call(client, method, path, headers, body, HTTP_ORIGIN=EVIL)
    assert response["Access-Control-Allow-Origin"] == "*"
    assert _preflight(client, path, EVIL)["Access-Control-Allow-Origin"] == "*"


@pytest.mark.django_db
@pytest.mark.parametrize("allowed", [["*"], [GOOD]])
@pytest.mark.parametrize(("method", "path", "headers", "body"), SERVER_ONLY)
def test_server_key_endpoints_never_answer_other_origins(
    client: Any,
    demo: Any,
    settings: Any,
    allowed: list[str],
    method: str,
    path: str,
    headers: Any,
    body: Any,
) -> None:
    settings.FLAGSITE_CORS_ALLOWED_ORIGINS = allowed
    response = _call(client, method, path, headers, body, HTTP_ORIGIN=GOOD)
    assert response.status_code < 300, response.content
    assert "Access-Control-Allow-Origin" not in response
    preflight = _preflight(client, path, GOOD)
    assert "Access-Control-Allow-Origin" not in preflight
    assert "Access-Control-Allow-Methods" not in preflight


@pytest.mark.django_db
def test_the_ui_and_the_management_api_get_no_cors_headers(client: Any, demo: Any) -> None:
    for path in ("/api/v1/flags", "/login/"):
        assert "Access-Control-Allow-Origin" not in client.get(path, HTTP_ORIGIN=GOOD)
