"""Try it: the engine evaluates the current configuration for a pasted context."""

from __future__ import annotations

import json
from typing import Any

import pytest

from flags.changes import Actor, flag_config_update
from tests.flags.builders import rule
from tests.flags.ui_support import HTMX, client_for, setup_flag

pytestmark = pytest.mark.django_db


def try_it(client: Any, context: str, env: str = "dev", **extra: Any) -> Any:
    return client.get("/flags/new-checkout/try/", {"environment": env, "context": context}, **extra)


def test_it_shows_value_variant_reason_and_rule(viewer_user: Any) -> None:
    flag, dev, _ = setup_flag()
    flag_config_update(
        flag=flag,
        environment=dev,
        actor=Actor(label="t"),
        enabled=True,
        rules=[
            rule(
                "pros",
                {"attribute": "plan", "op": "eq", "values": ["pro"]},
                serve={"variant": "on"},
            )
        ],
    )
    client = client_for(viewer_user)  # reading, so viewers may try too
    html = try_it(client, json.dumps({"key": "ana", "plan": "pro"}), headers=HTMX).content.decode()
    assert "TARGETING_MATCH" in html and "#1 pros" in html and ">true<" in html
    other = try_it(client, json.dumps({"key": "bo", "plan": "free"}), headers=HTMX).content.decode()
    assert "DEFAULT" in other and ">false<" in other


def test_a_disabled_flag_reports_disabled(viewer_user: Any) -> None:
    setup_flag()
    html = try_it(client_for(viewer_user), '{"key": "ana"}', headers=HTMX).content.decode()
    assert "DISABLED" in html


def test_it_refuses_bad_json_on_the_field(viewer_user: Any) -> None:
    setup_flag()
    client = client_for(viewer_user)
    response = try_it(client, "{not json")
    assert response.status_code == 400 and "Not valid JSON" in response.content.decode()
    assert "Expected a JSON object" in try_it(client, "[1, 2]", headers=HTMX).content.decode()
    assert try_it(client, '{"key": "a"}', env="nope").status_code == 400
