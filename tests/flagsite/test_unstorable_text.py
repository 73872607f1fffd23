"""Issue 9, lone surrogates: JSON may carry `"\\ud800"`, UTF-8 cannot encode it. Saving it
used to be a 500. Every change through flags.changes now refuses it naming the field, like
event ingestion does, so the API, the UI's JSON fields and the importer answer alike.
(Contexts are not stored: the engine hashes a lone surrogate as U+FFFD, as local evaluation
does.)"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from flags.models import Flag, FlagConfig, Segment
from tests.conftest import _make_user

from .conftest import Site

pytestmark = pytest.mark.django_db

LONE = "\ud800"
ROLLOUT_RULE = {
    "id": "half",
    "name": "half",
    "clauses": [],
    "rollout": {"percentage": 50, "bucket_by": "key"},
    "serve": {"variant": "on"},
}
BOOL = [{"key": "on", "value": True}, {"key": "off", "value": False}]


def send(client: Client, method: str, url: str, data: Any) -> Any:
    # json.dumps writes the lone surrogate as the escape "\ud800", as a client would.
    return getattr(client, method)(url, json.dumps(data), content_type="application/json")


def fields(response: Any) -> dict[str, list[str]]:
    assert response.status_code == 400, response.content[:300]
    return dict(response.json()["error"]["fields"])


@pytest.fixture
def admin(client: Client, site: Site) -> Client:
    client.force_login(_make_user("root", "admin"))
    return client


@pytest.mark.parametrize(
    ("method", "url", "body", "field"),
    [
        (
            "put",
            "/api/v1/flags/new-checkout/environments/dev/rules",
            {"rules": [ROLLOUT_RULE | {"id": LONE}], "comment": ""},
            "rules[0].id",
        ),
        (
            "patch",
            "/api/v1/flags/new-checkout/environments/dev",
            {"rules": [ROLLOUT_RULE | {"name": "a" + LONE}]},
            "rules[0].name",
        ),
        (
            "post",
            "/api/v1/flags",
            {
                "key": "texty",
                "kind": "string",
                "variants": [{"key": "a", "value": "x" + LONE}, {"key": "b", "value": "y"}],
            },
            "variants[0].value",
        ),
        (
            "post",
            "/api/v1/flags",
            {"key": "jsony", "kind": "json", "variants": [{"key": "a", "value": {LONE: 1}}]},
            "variants[0].value",
        ),
        (
            "put",
            "/api/v1/flags/new-checkout/variants",
            {"variants": [{"key": "on", "value": True, "name": LONE}], "comment": "c"},
            "variants[0].name",
        ),
        (
            "post",
            "/api/v1/segments",
            {
                "key": "beta",
                "name": "Beta",
                "clauses": [{"attribute": "plan", "op": "in", "values": ["pro", LONE]}],
            },
            "clauses[0].values[1]",
        ),
    ],
)
def test_the_flags_api_refuses_unencodable_text_naming_the_field(
    admin: Client, method: str, url: str, body: Any, field: str
) -> None:
    response = send(admin, method, url, body)
    errors = fields(response)
    assert field in errors, errors
    assert "urrogate" in errors[field][0]  # "unpaired surrogate" (ours) or DRF's own
    assert not Flag.objects.filter(key__in=["texty", "jsony"]).exists()
    assert not Segment.objects.exists()
    assert FlagConfig.objects.get(flag__key="new-checkout", environment__key="dev").rules == []


def test_plain_text_fields_name_the_field_too(admin: Client) -> None:
    response = send(admin, "post", "/api/v1/segments", {"key": "beta", "name": "B" + LONE})
    assert "name" in fields(response)
    response = send(admin, "post", "/api/v1/segments", {"key": "beta", "included": ["u", LONE]})
    assert any(name.startswith("included") for name in fields(response))


def test_a_valid_surrogate_pair_is_ordinary_text(admin: Client) -> None:
    rule = ROLLOUT_RULE | {"name": "\U0001f600 smile"}  # json.dumps writes \ud83d\ude00
    url = "/api/v1/flags/new-checkout/environments/dev/rules"
    assert send(admin, "put", url, {"rules": [rule], "comment": ""}).status_code == 200


def test_the_ui_json_mode_refuses_it_on_the_field(admin: Client) -> None:
    text = json.dumps({"rules": [ROLLOUT_RULE | {"id": LONE}], "default": {"variant": "off"}})
    response = admin.post(
        "/flags/new-checkout/env/dev/targeting/save/", {"op": "save_json", "config_json": text}
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "rules[0].id" in html and "unpaired surrogate" in html
    assert FlagConfig.objects.get(flag__key="new-checkout", environment__key="dev").rules == []


def test_the_ui_json_variant_value_refuses_it(admin: Client) -> None:
    response = admin.post(
        "/flags/new/",
        {
            "key": "jsony",
            "name": "J",
            "kind": "json",
            "variant_count": "1",
            "v0-key": "a",
            "v0-value": json.dumps({"k": LONE}),
            "op": "save",
        },
    )
    assert response.status_code == 400
    assert "unpaired surrogate" in response.content.decode()
    assert not Flag.objects.filter(key="jsony").exists()
