"""Creating a flag: variants per kind, JSON values validated on the field."""

from __future__ import annotations

from typing import Any

import pytest

from flags.models import Flag, FlagConfig
from tests.flags.builders import environments
from tests.flags.ui_support import HTMX, client_for

pytestmark = pytest.mark.django_db


def data(**extra: Any) -> dict[str, Any]:
    return {
        "key": "rag-config",
        "name": "RAG",
        "kind": "json",
        "tags": "llm, rag",
        "variant_count": "2",
        "v0-key": "small",
        "v0-value": '{"top_k": 5}',
        "v1-key": "large",
        "v1-value": '{"top_k": 20}',
        "op": "save",
    } | extra


def test_it_creates_a_flag_off_everywhere(editor_user: Any) -> None:
    environments()
    response = client_for(editor_user).post("/flags/new/", data())
    assert response.status_code == 302 and response["Location"] == "/flags/rag-config/"
    flag = Flag.objects.get(key="rag-config")
    assert flag.variants[1] == {"key": "large", "value": {"top_k": 20}}
    assert flag.tags == ["llm", "rag"] and flag.owner == editor_user
    assert not FlagConfig.objects.filter(flag=flag, enabled=True).exists()


def test_invalid_json_shows_on_the_variant(editor_user: Any) -> None:
    environments()
    response = client_for(editor_user).post("/flags/new/", data(**{"v1-value": "{top_k: 20"}))
    assert response.status_code == 400
    html = response.content.decode()
    assert "Not valid JSON" in html and "{top_k: 20" in html  # what was typed is kept
    assert not Flag.objects.exists()


def test_duplicate_keys_and_bad_keys_are_refused(editor_user: Any) -> None:
    environments()
    client = client_for(editor_user)
    assert client.post("/flags/new/", data(**{"v1-key": "small"})).status_code == 400
    assert client.post("/flags/new/", data(key="Bad Key!")).status_code == 400
    client.post("/flags/new/", data())
    again = client.post("/flags/new/", data())
    assert again.status_code == 400 and "already exists" in again.content.decode()


def test_kind_change_and_add_variant_keep_the_draft(editor_user: Any) -> None:
    client = client_for(editor_user)
    kind = client.post(
        "/flags/new/", data(kind="boolean", op="kind"), headers=HTMX
    ).content.decode()
    assert 'value="on"' in kind and 'value="off"' in kind
    added = client.post("/flags/new/", data(op="add_variant"), headers=HTMX).content.decode()
    assert 'name="variant_count" value="3"' in added and 'data-focus="v2-key"' in added


def test_a_viewer_cannot_create_flags(viewer_user: Any) -> None:
    client = client_for(viewer_user)
    assert client.get("/flags/new/").status_code == 403
    assert client.post("/flags/new/", data()).status_code == 403
