"""The widget script and its demo page (the browser test is tests/e2e/test_widget.py)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from .conftest import keys_create

pytestmark = pytest.mark.django_db


def test_the_script_is_served_to_any_origin(client: Client) -> None:
    response = client.get("/feedback/widget.js")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    assert response["Access-Control-Allow-Origin"] == "*"
    source = response.content.decode()
    assert "FlagsiteFeedback" in source and "aria-pressed" in source
    # Dependency-free: no imports, no third-party hosts.
    assert "import " not in source and "cdn" not in source.lower()


def test_the_styles_are_a_stylesheet_served_to_any_origin(client: Client) -> None:
    # A stylesheet, not an inline <style>: host pages with a strict CSP need no 'unsafe-inline'.
    response = client.get("/feedback/widget.css")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/css")
    assert response["Access-Control-Allow-Origin"] == "*"
    assert ":where(.fs-feedback__button)" in response.content.decode()
    script = client.get("/feedback/widget.js").content.decode()
    assert 'createElement("style")' not in script and "widget.css" in script


def test_only_get(client: Client) -> None:
    assert client.post("/feedback/widget.js").status_code == 405


def test_the_demo_page_embeds_the_widget_with_the_demo_key(
    client: Client, viewer_user: Any
) -> None:
    from delivery.keys import api_key_create
    from flags.changes import Actor, environment_create
    from flags.demo import DEMO_CLIENT_KEY

    env = environment_create(key="development", name="Development", actor=Actor(label="t"))
    api_key_create(
        environment=env, kind="client", name="demo", actor=Actor(label="t"), raw=DEMO_CLIENT_KEY
    )
    client.force_login(viewer_user)
    html = client.get("/feedback/demo/").content.decode()
    assert 'src="/feedback/widget.js"' in html
    assert f'data-key="{DEMO_CLIENT_KEY}"' in html
    assert 'data-conversation="demo-conversation-1"' in html


def test_without_demo_data_the_page_explains_what_to_do(client: Client, viewer_user: Any) -> None:
    client.force_login(viewer_user)
    html = client.get("/feedback/demo/").content.decode()
    assert "No client key" in html
    keys = keys_create()
    html = client.get("/feedback/demo/", {"key": keys.client}).content.decode()
    assert f'data-key="{keys.client}"' in html
