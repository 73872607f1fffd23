"""Issue 9, deep JSON: 10,000 `[` used to be a RecursionError (500) at every JSON entry point.
Each one now answers 400 in its usual error shape naming the problem, through the one parser
(flagsite.jsonbody), and permission checks come before the body is read."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from flags.models import Flag
from tests.conftest import _make_user

from .conftest import Site

pytestmark = pytest.mark.django_db

DEEP = "[" * 10_000
DEEP_IN_AN_OBJECT = '{"context": {"key": "u1", "x": ' + "[" * 10_000 + "}}"
JSON = "application/json"


def _post(url: str, body: str, key: str) -> Callable[[Client, Site], Any]:
    return lambda c, site: c.post(url, body, content_type=JSON, headers=getattr(site, key))


def _as(role: str, method: str, url: str, body: str = DEEP) -> Callable[[Client, Site], Any]:
    def call(c: Client, site: Site) -> Any:
        c.force_login(_make_user(f"{role}-1", role))
        return getattr(c, method)(url, body, content_type=JSON)

    return call


def _ui(method: str, url: str, data: dict[str, str]) -> Callable[[Client, Site], Any]:
    def call(c: Client, site: Site) -> Any:
        c.force_login(_make_user("admin-ui", "admin"))
        return getattr(c, method)(url, data)

    return call


def api_error(response: Any) -> str:
    """The API's usual shape: {"error": {"code", "message", "fields": {"body": [...]}}}."""
    error = response.json()["error"]
    assert error["code"] == "invalid"
    return " ".join(error["fields"]["body"])


def ofrep_error(response: Any) -> str:
    body = response.json()
    assert body["errorCode"] == "PARSE_ERROR"
    return str(body["errorDetails"])


def html(response: Any) -> str:
    return str(response.content.decode())


ENTRY_POINTS = {
    "evaluate": (_post("/api/v1/evaluate", DEEP, "client"), api_error),
    "evaluate, deep inside the context": (
        _post("/api/v1/evaluate", DEEP_IN_AN_OBJECT, "server"),
        api_error,
    ),
    "ofrep single flag": (
        _post("/ofrep/v1/evaluate/flags/new-checkout", DEEP, "client"),
        ofrep_error,
    ),
    "ofrep bulk": (_post("/ofrep/v1/evaluate/flags", DEEP_IN_AN_OBJECT, "client"), ofrep_error),
    "events": (_post("/api/v1/events", DEEP, "server"), api_error),
    "feedback": (_post("/api/v1/feedback", DEEP, "client"), api_error),
    "management: create a flag": (_as("admin", "post", "/api/v1/flags"), api_error),
    "management: patch a flag": (_as("admin", "patch", "/api/v1/flags/new-checkout"), api_error),
    "management: replace rules": (
        _as("admin", "put", "/api/v1/flags/new-checkout/environments/dev/rules"),
        api_error,
    ),
    "management: create a segment": (_as("editor", "post", "/api/v1/segments"), api_error),
    "ui: flag editor JSON mode": (
        _ui(
            "post",
            "/flags/new-checkout/env/dev/targeting/save/",
            {"op": "save_json", "config_json": DEEP},
        ),
        html,
    ),
    "ui: a JSON variant value": (
        _ui(
            "post",
            "/flags/new/",
            {
                "key": "deep-json",
                "name": "Deep",
                "kind": "json",
                "variant_count": "1",
                "v0-key": "a",
                "v0-value": DEEP,
                "op": "save",
            },
        ),
        html,
    ),
    "ui: try it": (
        _ui("get", "/flags/new-checkout/try/", {"environment": "dev", "context": DEEP}),
        html,
    ),
}


@pytest.mark.parametrize("name", list(ENTRY_POINTS))
def test_deep_json_is_a_400_naming_the_problem(client: Client, site: Site, name: str) -> None:
    call, message_of = ENTRY_POINTS[name]
    response = call(client, site)
    assert response.status_code == 400, response.content[:300]
    assert "nested deeper than 64 levels" in message_of(response)
    assert not Flag.objects.filter(key="deep-json").exists()


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("patch", "/api/v1/flags/new-checkout"),
        ("put", "/api/v1/flags/new-checkout/variants"),
        ("patch", "/api/v1/flags/new-checkout/environments/dev"),
        ("post", "/api/v1/flags/new-checkout/environments/dev/toggle"),
        ("post", "/api/v1/segments"),
    ],
)
def test_a_viewer_gets_403_before_the_body_is_read(
    client: Client, site: Site, method: str, url: str
) -> None:
    response = _as("viewer", method, url)(client, site)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"


def test_an_editor_gets_403_for_production_before_the_body_is_read(
    client: Client, site: Site
) -> None:
    url = "/api/v1/flags/new-checkout/environments/prod/rules"
    response = _as("editor", "put", url)(client, site)
    assert response.status_code == 403


def test_normal_bodies_still_work(client: Client, site: Site) -> None:
    # Nesting within the limit goes through every layer (a JSON value 10 levels deep).
    value = '{"a": ' * 10 + "1" + "}" * 10
    body = '{"context": {"key": "u", "v": ' + value + "}}"
    response = _post("/api/v1/evaluate", body, "client")(client, site)
    assert response.status_code == 200
