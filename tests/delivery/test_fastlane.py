"""The fast lane (delivery/fastlane.py) answers exactly what the ordinary path answers: the same
status, headers and body, for every request it takes, and it leaves the rest alone."""

from __future__ import annotations

import json
from typing import Any

import pytest

from delivery import fastlane
from tests.flags.test_api_support import (  # noqa: F401  (autouse fixture)
    CLIENT,
    SERVER,
    _fresh_key_cache,
)

CONTEXT = {"context": {"targetingKey": "user-7", "tier": "paid", "email": "a@b.example"}}
ORIGIN = {"HTTP_ORIGIN": "https://app.example"}


def _request(client: Any, method: str, url: str, body: Any, headers: dict[str, str]) -> Any:
    if method == "GET":
        return client.get(url, **headers)
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return client.post(url, data=data, content_type="application/json", **headers)


def _answer(response: Any) -> tuple[int, list[tuple[str, str]], bytes]:
    return response.status_code, sorted(response.headers.items()), response.content


def _both(client: Any, settings: Any, monkeypatch: Any, *request: Any) -> tuple[Any, Any, int]:
    """The answer with the fast lane on and off, and how many requests the lane answered."""
    answered = []
    real = fastlane.DeliveryFastLaneMiddleware.answer

    def spy(self: Any, *args: Any) -> Any:
        response = real(self, *args)
        answered.append(response is not None)
        return response

    monkeypatch.setattr(fastlane.DeliveryFastLaneMiddleware, "answer", spy)
    _request(client, "GET", "/api/v1/sdk/ruleset", None, SERVER)  # both keys known here
    _request(client, "POST", "/api/v1/evaluate", CONTEXT, CLIENT)
    answered.clear()
    settings.FLAGSITE_DELIVERY_FAST_LANE = True
    fast = _answer(_request(client, *request))
    settings.FLAGSITE_DELIVERY_FAST_LANE = False
    ordinary = _answer(_request(client, *request))
    return fast, ordinary, sum(answered)


def _etag(client: Any, url: str, body: Any, headers: dict[str, str]) -> str:
    method = "GET" if body is None else "POST"
    return str(_request(client, method, url, body, headers)["ETag"])


# (method, url, body, headers)
Request = tuple[str, str, Any, dict[str, str]]

STEADY: list[Request] = [
    ("GET", "/api/v1/sdk/ruleset", None, SERVER),
    ("GET", "/api/v1/sdk/ruleset", None, {**SERVER, **ORIGIN}),
    ("POST", "/api/v1/evaluate", CONTEXT, CLIENT),
    ("POST", "/api/v1/evaluate", CONTEXT, {**SERVER, **ORIGIN}),
    ("POST", "/api/v1/evaluate", {**CONTEXT, "flags": ["llm-model", "nope"]}, CLIENT),
    ("POST", "/ofrep/v1/evaluate/flags", CONTEXT, {**CLIENT, **ORIGIN}),
    ("POST", "/ofrep/v1/evaluate/flags", b"", SERVER),
    ("POST", "/ofrep/v1/evaluate/flags/llm-model", CONTEXT, CLIENT),
    ("POST", "/ofrep/v1/evaluate/flags/llm-model", CONTEXT, SERVER),
    ("POST", "/ofrep/v1/evaluate/flags/nope", CONTEXT, CLIENT),
    ("POST", "/ofrep/v1/evaluate/flags/llm-model", {"context": {}}, CLIENT),
]


@pytest.mark.django_db
@pytest.mark.parametrize("request_", STEADY, ids=lambda r: f"{r[0]} {r[1]}")
def test_it_answers_the_steady_state_as_the_ordinary_path_does(
    client: Any, demo: Any, settings: Any, monkeypatch: Any, request_: Any
) -> None:
    fast, ordinary, answered = _both(client, settings, monkeypatch, *request_)
    assert answered == 1
    assert fast == ordinary


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url, body, headers",
    [
        ("/api/v1/sdk/ruleset", None, SERVER),
        ("/api/v1/evaluate", CONTEXT, CLIENT),
        ("/ofrep/v1/evaluate/flags", CONTEXT, CLIENT),
    ],
)
def test_it_answers_304_as_the_ordinary_path_does(
    client: Any, demo: Any, settings: Any, monkeypatch: Any, url: str, body: Any, headers: Any
) -> None:
    conditional = {**headers, "HTTP_IF_NONE_MATCH": _etag(client, url, body, headers)}
    fast, ordinary, answered = _both(
        client, settings, monkeypatch, "GET" if body is None else "POST", url, body, conditional
    )
    assert answered == 1
    assert fast[0] == 304
    assert fast == ordinary


LEFT_ALONE: list[Request] = [
    ("GET", "/api/v1/sdk/ruleset", None, CLIENT),  # wrong kind: 403
    ("GET", "/api/v1/sdk/ruleset", None, {}),  # no key: 401
    ("GET", "/api/v1/sdk/ruleset", None, {"HTTP_X_API_KEY": "fs_srv_nope"}),  # unknown: 401
    ("POST", "/api/v1/evaluate", b"{", CLIENT),  # not JSON: 400
    ("POST", "/api/v1/evaluate", {"flags": []}, CLIENT),  # no context: 400
    ("POST", "/ofrep/v1/evaluate/flags", b"[1]", CLIENT),  # PARSE_ERROR
    ("POST", "/ofrep/v1/evaluate/flags/x", {"context": {"targetingKey": 5.5}}, CLIENT),
    ("GET", "/ofrep/v1/configuration", None, CLIENT),
]


@pytest.mark.django_db
@pytest.mark.parametrize("request_", LEFT_ALONE, ids=lambda r: f"{r[0]} {r[1]} {r[2]!r}")
def test_it_leaves_everything_else_to_the_ordinary_path(
    client: Any, demo: Any, settings: Any, monkeypatch: Any, request_: Any
) -> None:
    fast, ordinary, answered = _both(client, settings, monkeypatch, *request_)
    assert answered == 0
    assert fast == ordinary


@pytest.mark.django_db
def test_a_request_over_its_limit_is_counted_once_and_refused_by_the_ordinary_path(
    client: Any, demo: Any, settings: Any
) -> None:
    settings.FLAGSITE_RATE_LIMIT_PER_MINUTE = 3
    statuses = [
        _request(client, "GET", "/api/v1/sdk/ruleset", None, SERVER).status_code for _ in range(5)
    ]
    assert statuses == [200, 200, 200, 429, 429]


def _plain_evaluation_body(results: dict[str, Any], *, with_rules: bool) -> bytes:
    """The body as it was built before the per-result memo: json.dumps of the whole dict."""
    flags = {}
    for key, ev in results.items():
        item = {"value": ev.value, "variant": ev.variant, "reason": ev.reason}
        item["error_code"] = ev.error_code
        if with_rules:
            item["rule_id"] = ev.rule_id
        flags[key] = item
    return json.dumps({"flags": flags}, separators=(",", ":")).encode()


@pytest.mark.django_db
@pytest.mark.parametrize("with_rules", [True, False])
def test_bodies_put_together_from_memoised_results_equal_one_json_dumps(
    demo: Any, with_rules: bool
) -> None:
    from flagsite_sdk.engine import evaluate, evaluate_all

    from delivery.auth import KeyPrincipal
    from delivery.ofrep import bulk_body, dumps, flag_result
    from delivery.views import evaluation_body
    from flags.models import Environment
    from flags.publish import ruleset_current

    published = ruleset_current("development")
    env_id = Environment.objects.get(key="development").id
    kind = "server" if with_rules else "client"
    principal = KeyPrincipal(0, kind, env_id, "development", "x")
    for context in [{}, {"key": "alice", "email": "alice@flagsite.dev"}, {"key": "ü\u2028"}]:
        for _ in range(2):  # built, then from the memo
            results = evaluate_all(published.compiled, context)
            results["nope"] = evaluate(published.compiled, "nope", context)
            expected = _plain_evaluation_body(results, with_rules=with_rules)
            assert evaluation_body(results, with_rules=with_rules) == expected
            items = [
                flag_result(published, key, context, with_rules=with_rules)[1]
                for key in published.compiled
            ]
            assert bulk_body(principal, context) == dumps({"flags": items})
