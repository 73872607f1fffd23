"""The WSGI lane (delivery/wsgilane.py) answers the hot endpoints' steady state (a ruleset poll's
304 above all) with exactly the answer the ordinary path gives, counts each request against its
key's limit once, records its exposures once, and leaves everything else alone.

The `client` fixture (tests/delivery/conftest.py) puts the lane in front of Django's test
handler; the last tests call `flagsite.wsgi.application` itself, as gunicorn does."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.core import signals
from django.db import close_old_connections
from django.test import RequestFactory

from delivery import fastlane, limits, wsgilane
from delivery.exposures import exposures_record
from delivery.ratelimit import rate_limit_check
from tests.delivery.conftest import LaneClientHandler
from tests.flags.test_api_support import (  # noqa: F401  (autouse fixture)
    CLIENT,
    SERVER,
    _fresh_key_cache,
)

URL = "/api/v1/sdk/ruleset"


def _answer(response: Any) -> tuple[int, list[tuple[str, str]], bytes]:
    return response.status_code, list(response.items()), response.content


def _poll(client: Any, **headers: Any) -> Any:
    return client.get(URL, **headers)


def _answered() -> int:
    return LaneClientHandler.answered


def _etag(client: Any) -> str:
    response = _poll(client, **SERVER)
    assert response.status_code == 200
    return str(response["ETag"])


CONDITIONS = {
    "exact": lambda etag: etag,
    "weak": lambda etag: "W/" + etag,
    "any": lambda etag: "*",
    "list": lambda etag: f'"nope", {etag}',
}


@pytest.mark.django_db
@pytest.mark.parametrize("condition", CONDITIONS)
@pytest.mark.parametrize("secure", ["http", "https", "proxied https"])
def test_a_matching_poll_gets_the_ordinary_paths_304_byte_for_byte(
    client: Any, demo: Any, settings: Any, condition: str, secure: str
) -> None:
    settings.SECURE_HSTS_SECONDS = 3600  # the header only an https request gets
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    extra: dict[str, Any] = {"secure": secure == "https"}
    if secure == "proxied https":
        extra["HTTP_X_FORWARDED_PROTO"] = "https"
    etag = _etag(client)
    headers = {**SERVER, "HTTP_IF_NONE_MATCH": CONDITIONS[condition](etag), **extra}

    before = _answered()
    learned = _answer(_poll(client, **headers))  # the ordinary path's answer, learned
    assert _answered() == before
    lane = _answer(_poll(client, **headers))
    again = _answer(_poll(client, **headers))
    assert _answered() == before + 2
    settings.FLAGSITE_DELIVERY_FAST_LANE = False  # both lanes off: DRF's view answers
    ordinary = _answer(_poll(client, **headers))

    assert lane[0] == 304 and lane[2] == b""
    assert lane == learned == again  # the same headers in the same order
    assert sorted(lane[1]) == sorted(ordinary[1]) and lane[0] == ordinary[0]
    assert dict(lane[1])["ETag"] == etag
    assert ("Strict-Transport-Security" in dict(lane[1])) is (secure != "http")


LEFT_ALONE = {
    "no If-None-Match": {**SERVER},
    "stale ETag": {**SERVER, "HTTP_IF_NONE_MATCH": '"stale"'},
    "empty If-None-Match": {**SERVER, "HTTP_IF_NONE_MATCH": ""},
    "client key": {**CLIENT, "HTTP_IF_NONE_MATCH": "*"},
    "unknown key": {"HTTP_X_API_KEY": "fs_srv_nope", "HTTP_IF_NONE_MATCH": "*"},
    "no key": {"HTTP_IF_NONE_MATCH": "*"},
}


@pytest.mark.django_db
@pytest.mark.parametrize("name", LEFT_ALONE)
def test_everything_else_takes_the_ordinary_path(
    client: Any, demo: Any, settings: Any, name: str
) -> None:
    etag = _etag(client)
    for _ in range(2):  # the lane has learned its template from the first conditional poll
        assert _poll(client, **SERVER, HTTP_IF_NONE_MATCH=etag).status_code == 304
    before = _answered()
    seen = _answer(_poll(client, **LEFT_ALONE[name]))
    assert _answered() == before
    settings.FLAGSITE_DELIVERY_FAST_LANE = False
    assert seen == _answer(_poll(client, **LEFT_ALONE[name]))
    assert seen[0] in (200, 401, 403)


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["head", "post", "options"])
def test_other_methods_take_the_ordinary_path(client: Any, demo: Any, method: str) -> None:
    etag = _etag(client)
    for _ in range(2):
        _poll(client, **SERVER, HTTP_IF_NONE_MATCH=etag)
    before = _answered()
    response = getattr(client, method)(URL, **SERVER, HTTP_IF_NONE_MATCH=etag)
    assert _answered() == before
    assert response.status_code in (200, 204, 304, 405)


@pytest.mark.django_db
def test_a_poll_is_counted_once_and_over_the_limit_refused_with_the_ordinary_429(
    client: Any, demo: Any, settings: Any, monkeypatch: Any
) -> None:
    settings.FLAGSITE_RATE_LIMIT_PER_MINUTE = 4
    counted = []
    real = rate_limit_check

    def spy(*args: Any, **kwargs: Any) -> Any:
        counted.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(limits, "rate_limit_check", spy)
    etag = _etag(client)  # counted by the ordinary path (a key it did not know yet)
    counted.clear()
    before = _answered()
    responses = [_poll(client, **SERVER, HTTP_IF_NONE_MATCH=etag) for _ in range(5)]
    assert [r.status_code for r in responses] == [304, 304, 304, 429, 429]
    assert _answered() - before == 2  # the first poll was learned, the 429s are the ordinary path's
    assert len(counted) == 5  # each poll once: three 304s, two refusals
    refused = responses[-1]
    assert int(refused["Retry-After"]) >= 1
    assert refused.json()["error"]["code"]


@pytest.mark.django_db
def test_learned_headers_are_forgotten_when_a_setting_changes(
    client: Any, demo: Any, settings: Any
) -> None:
    etag = _etag(client)
    for _ in range(2):
        _poll(client, **SERVER, HTTP_IF_NONE_MATCH=etag)
    settings.FLAGSITE_CSP = "default-src 'none'"
    before = _answered()
    learned = _poll(client, **SERVER, HTTP_IF_NONE_MATCH=etag)
    assert _answered() == before  # asked Django again
    lane = _poll(client, **SERVER, HTTP_IF_NONE_MATCH=etag)
    assert _answered() == before + 1
    policy = "Content-Security-Policy"
    assert lane[policy] == learned[policy] == "default-src 'none'"


@pytest.mark.django_db
def test_hostile_proxy_header_values_keep_at_most_a_few_templates(
    client: Any, demo: Any, settings: Any
) -> None:
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    etag = _etag(client)
    for i in range(wsgilane.MAX_TEMPLATES + 5):
        for _ in range(2):
            response = _poll(
                client, **SERVER, HTTP_IF_NONE_MATCH=etag, HTTP_X_FORWARDED_PROTO=str(i)
            )
            assert response.status_code == 304
    assert wsgilane.lane.kinds_learned() == wsgilane.MAX_TEMPLATES


def _wsgi(environ: dict[str, Any]) -> tuple[str, list[tuple[str, str]], bytes]:
    """`flagsite.wsgi.application` called as a WSGI server calls it (the test's database
    connection stays open: Django's test client disconnects the same receiver)."""
    from flagsite.wsgi import application

    seen: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        seen["status"], seen["headers"] = status, list(headers)
        return lambda data: None

    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        result = application(environ, start_response)
        body = b"".join(result)
        getattr(result, "close", lambda: None)()
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)
    return seen["status"], seen["headers"], body


@pytest.mark.django_db
def test_the_wsgi_application_answers_through_the_lane(
    demo: Any, settings: Any, monkeypatch: Any
) -> None:
    sent: list[str] = []

    def sender(name: str) -> Callable[..., list[Any]]:
        def send(*args: Any, **kwargs: Any) -> list[Any]:
            sent.append(name)
            return []

        return send

    for name in ("request_started", "request_finished"):
        monkeypatch.setattr(getattr(signals, name), "send", sender(name))
    factory = RequestFactory()
    auth = SERVER["HTTP_AUTHORIZATION"]
    _, headers, _ = _wsgi(factory.get(URL, HTTP_AUTHORIZATION=auth).environ)
    etag = dict(headers)["ETag"]

    learned = _wsgi(factory.get(URL, HTTP_AUTHORIZATION=auth, HTTP_IF_NONE_MATCH=etag).environ)
    calls: list[Any] = []
    real = wsgilane.lane.answer

    def answer(env: dict[str, Any]) -> Any:
        calls.append(real(env))
        return calls[-1]

    monkeypatch.setattr(wsgilane.lane, "answer", answer)
    sent.clear()
    lane = _wsgi(factory.get(URL, HTTP_AUTHORIZATION=auth, HTTP_IF_NONE_MATCH=etag).environ)

    assert calls and calls[-1] is not None  # the lane answered
    assert learned[0] == lane[0] == "304 Not Modified"
    assert lane == learned and lane[2] == b""
    assert sent == []  # memory only: no database connection to look after


@pytest.mark.django_db
@pytest.mark.parametrize("due", ["ruleset check", "key recheck"])
def test_a_poll_with_a_check_due_takes_the_ordinary_path_and_the_lane_never_queries(
    client: Any, demo: Any, monkeypatch: Any, django_assert_num_queries: Any, due: str
) -> None:
    from delivery import auth
    from flags import publish

    etag = _etag(client)
    for _ in range(2):
        _poll(client, **SERVER, HTTP_IF_NONE_MATCH=etag)
    before = _answered()
    with django_assert_num_queries(0):
        assert _poll(client, **SERVER, HTTP_IF_NONE_MATCH=etag).status_code == 304
    assert _answered() == before + 1
    if due == "ruleset check":
        monkeypatch.setattr(publish, "_next_check", {})
    else:
        for entry in auth._keys.values():
            entry.recheck_at = 0.0
    assert _poll(client, **SERVER, HTTP_IF_NONE_MATCH=etag).status_code == 304
    assert _answered() == before + 1  # the ordinary path checked (and queried)
    assert _poll(client, **SERVER, HTTP_IF_NONE_MATCH=etag).status_code == 304
    assert _answered() == before + 2  # checked: the lane again


CONTEXT = {"context": {"targetingKey": "user-7", "tier": "paid", "email": "a@b.example"}}
ORIGIN = {"HTTP_ORIGIN": "https://app.example"}
STEADY = [
    ("GET", URL, None, SERVER),  # the 200 with the ruleset
    ("POST", "/api/v1/evaluate", CONTEXT, CLIENT),
    ("POST", "/api/v1/evaluate", CONTEXT, {**SERVER, **ORIGIN}),
    ("POST", "/api/v1/evaluate", {**CONTEXT, "flags": ["llm-model", "nope"]}, CLIENT),
    ("POST", "/ofrep/v1/evaluate/flags", CONTEXT, {**CLIENT, **ORIGIN}),
    ("POST", "/ofrep/v1/evaluate/flags", b"", SERVER),
    ("POST", "/ofrep/v1/evaluate/flags/llm-model", CONTEXT, {**CLIENT, **ORIGIN}),
    ("POST", "/ofrep/v1/evaluate/flags/nope", CONTEXT, CLIENT),  # 404 FLAG_NOT_FOUND
]


def _send(client: Any, method: str, url: str, body: Any, headers: dict[str, str]) -> Any:
    if method == "GET":
        return client.get(url, **headers)
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return client.post(url, data=data, content_type="application/json", **headers)


@pytest.mark.django_db
@pytest.mark.parametrize("cors", ["any origin", "listed origins"])
@pytest.mark.parametrize("request_", STEADY, ids=lambda r: f"{r[0]} {r[1]} {sorted(r[3])}")
def test_the_steady_state_gets_the_ordinary_paths_answer_byte_for_byte(
    client: Any, demo: Any, settings: Any, monkeypatch: Any, cors: str, request_: Any
) -> None:
    if cors == "listed origins":
        settings.FLAGSITE_CORS_ALLOWED_ORIGINS = ["https://app.example"]
    recorded: list[tuple[Any, ...]] = []

    def spy(*args: Any) -> Any:
        recorded.append(args)
        return exposures_record(*args)

    monkeypatch.setattr(fastlane, "exposures_record", spy)
    _send(client, *request_)  # the key becomes known (the ordinary path)
    recorded.clear()
    before = _answered()
    learned = _answer(_send(client, *request_))  # computed by the lane, sent by Django's stack
    assert _answered() == before
    lane = _answer(_send(client, *request_))
    assert _answered() == before + 1
    if request_[1] == "/api/v1/evaluate":
        assert len(recorded) == 2  # once per request: learning did not record it twice
    settings.FLAGSITE_DELIVERY_FAST_LANE = False
    ordinary = _answer(_send(client, *request_))

    assert lane == learned
    assert (lane[0], sorted(lane[1]), lane[2]) == (ordinary[0], sorted(ordinary[1]), ordinary[2])
    assert lane[0] in (200, 404)


BAD = [  # (method, url, body, key, extra headers, status)
    ("POST", "/api/v1/evaluate", b"{", CLIENT, {}, 400),  # not JSON
    ("POST", "/api/v1/evaluate", {"flags": []}, CLIENT, {}, 400),  # no context
    ("POST", "/ofrep/v1/evaluate/flags", b"[1]", CLIENT, {}, 400),  # PARSE_ERROR
    ("POST", "/ofrep/v1/evaluate/flags/x", {"context": {"targetingKey": 5.5}}, CLIENT, {}, 400),
    ("POST", "/api/v1/evaluate", CONTEXT, CLIENT, {"CONTENT_LENGTH": str(10**9)}, 413),
    # Bodies the lane does not read: Django's stack reads them as before.
    ("POST", "/api/v1/evaluate", CONTEXT, CLIENT, {"HTTP_TRANSFER_ENCODING": "chunked"}, 200),
    ("POST", "/api/v1/evaluate", CONTEXT, CLIENT, {"CONTENT_LENGTH": "nope"}, 400),
]


@pytest.mark.django_db
@pytest.mark.parametrize("request_", BAD, ids=lambda r: f"{r[1]} {r[2]!r} {r[4]}")
def test_bad_bodies_get_the_ordinary_paths_error(
    client: Any, demo: Any, settings: Any, request_: Any
) -> None:
    method, url, body, headers, extra, status = request_
    for _ in range(2):  # the key is known and the lane has learned its 200
        _send(client, "POST", url.replace("/x", "/llm-model"), CONTEXT, CLIENT)
    before = _answered()
    seen = _answer(_send(client, method, url, body, {**headers, **extra}))
    assert _answered() == before
    settings.FLAGSITE_DELIVERY_FAST_LANE = False
    assert seen == _answer(_send(client, method, url, body, {**headers, **extra}))
    assert seen[0] == status
