"""Environments and API keys: admins create (the key is shown once) and revoke."""

from __future__ import annotations

from typing import Any

import pytest

from delivery.models import ApiKey
from flags.models import Environment
from tests.flags.builders import environments
from tests.flags.ui_support import client_for

pytestmark = pytest.mark.django_db


def test_it_creates_a_key_and_shows_it_once(admin_user: Any) -> None:
    environments()
    client = client_for(admin_user)
    response = client.post("/keys/new/", {"environment": "dev", "kind": "client", "name": "web"})
    # Post/redirect/get: the secret is shown by the GET that follows, once.
    assert (response.status_code, response["Location"]) == (302, "/environments/")
    key = ApiKey.objects.get(name="web")
    shown = client.get("/environments/")
    html = shown.content.decode()
    raw = html.split('id="raw-key" class="mono" value="')[1].split('"')[0]
    assert raw.startswith("fs_cli_") and ApiKey.hash_key(raw) == key.key_hash
    assert "no-store" in shown["Cache-Control"]
    again = client.get("/environments/").content.decode()
    assert raw not in again and 'id="raw-key"' not in again
    assert ApiKey.objects.count() == 1


def test_it_revokes_a_key(admin_user: Any) -> None:
    environments()
    client = client_for(admin_user)
    client.post("/keys/new/", {"environment": "dev", "kind": "server", "name": "backend"})
    key = ApiKey.objects.get(name="backend")
    assert client.post(f"/keys/{key.id}/revoke/").status_code == 302
    key.refresh_from_db()
    assert key.revoked_at is not None


def test_it_creates_an_environment(admin_user: Any) -> None:
    response = client_for(admin_user).post(
        "/environments/new/", {"key": "qa", "name": "QA", "color": "#22c55e"}
    )
    assert response.status_code == 302 and Environment.objects.filter(key="qa").exists()
    bad = client_for(admin_user).post(
        "/environments/new/", {"key": "Q A!", "name": "x", "color": "#000000"}
    )
    assert bad.status_code == 400 and "lowercase" in bad.content.decode()


def test_only_admins_manage_keys_and_environments(editor_user: Any, viewer_user: Any) -> None:
    environments()
    for user in (editor_user, viewer_user):
        client = client_for(user)
        assert client.get("/environments/").status_code == 200
        assert "New API key" not in client.get("/environments/").content.decode()
        payload = {"environment": "dev", "kind": "client", "name": "x"}
        assert client.post("/keys/new/", payload).status_code == 403
        assert client.post("/environments/new/", {"key": "qa", "name": "QA"}).status_code == 403
    key = ApiKey.objects.create(
        environment=Environment.objects.get(key="dev"),
        kind="client",
        name="k",
        key_hash="h" * 64,
        hint="fs_cli_xxx",
    )
    assert client_for(editor_user).post(f"/keys/{key.id}/revoke/").status_code == 403
