"""The management REST API: roles, validation through flags.changes, versions, audit, roll-back."""

from __future__ import annotations

import json
from typing import Any

import pytest

from flags.models import AuditEvent, Environment, Flag, FlagConfig, Segment, Version
from tests.flags.test_api_support import (  # noqa: F401  (autouse fixture)
    CLIENT,
    SERVER,
    _fresh_key_cache,
    error_fields,
)

BOOL_FLAG = {
    "key": "dark-mode",
    "kind": "boolean",
    "name": "Dark mode",
    "variants": [{"key": "on", "value": True}, {"key": "off", "value": False}],
}


def send(client: Any, method: str, url: str, data: Any = None, **headers: Any) -> Any:
    if method == "get":
        return client.get(url, **headers)
    body = data if isinstance(data, str) else json.dumps(data or {})
    return getattr(client, method)(url, body, content_type="application/json", **headers)


def config(flag: str, env: str) -> FlagConfig:
    return FlagConfig.objects.get(flag__key=flag, environment__key=env)


@pytest.mark.django_db
def test_it_needs_a_session_or_token(client: Any, demo: Any) -> None:
    assert client.get("/api/v1/flags").status_code == 401
    # An environment's API key is not a way into the management API.
    assert client.get("/api/v1/flags", **SERVER).status_code == 401


@pytest.mark.django_db
def test_viewers_read_but_do_not_write(client: Any, demo: Any, viewer_user: Any) -> None:
    client.force_login(viewer_user)
    listing = client.get("/api/v1/flags")
    assert listing.status_code == 200
    llm = next(f for f in listing.json() if f["key"] == "llm-model")
    assert llm["environments"]["production"]["enabled"] is True
    assert client.get("/api/v1/environments").status_code == 200
    assert client.get("/api/v1/segments").status_code == 200
    response = send(
        client,
        "post",
        "/api/v1/flags/llm-model/environments/development/toggle",
        {"enabled": False},
    )
    assert response.status_code == 403
    assert send(client, "post", "/api/v1/flags", BOOL_FLAG).status_code == 403


@pytest.mark.django_db
def test_editor_toggles_outside_production_only(client: Any, demo: Any, editor_user: Any) -> None:
    client.force_login(editor_user)
    url = "/api/v1/flags/llm-model/environments/{}/toggle"
    response = send(client, "post", url.format("development"), {"enabled": False})
    assert response.status_code == 200
    assert response.json()["enabled"] is False
    assert config("llm-model", "development").enabled is False
    event = AuditEvent.objects.filter(action="flag.toggled").first()
    assert event is not None and event.actor == editor_user
    refused = send(client, "post", url.format("production"), {"enabled": False, "comment": "x"})
    assert refused.status_code == 403
    assert config("llm-model", "production").enabled is True


@pytest.mark.django_db
def test_production_changes_need_a_comment(client: Any, demo: Any, admin_user: Any) -> None:
    client.force_login(admin_user)
    url = "/api/v1/flags/llm-model/environments/production/toggle"
    response = send(client, "post", url, {"enabled": False})
    assert response.status_code == 400
    assert "comment" in error_fields(response)
    assert (
        send(client, "post", url, {"enabled": False, "comment": "incident 42"}).status_code == 200
    )


@pytest.mark.django_db
def test_create_flag_and_refuse_bad_ones(client: Any, demo: Any, editor_user: Any) -> None:
    client.force_login(editor_user)
    created = send(client, "post", "/api/v1/flags", BOOL_FLAG)
    assert created.status_code == 201
    assert created.json()["environments"]["production"]["enabled"] is False
    assert Version.objects.filter(flag__key="dark-mode", subject="flag").count() == 1
    duplicate = send(client, "post", "/api/v1/flags", BOOL_FLAG)
    assert duplicate.status_code == 400
    assert "key" in error_fields(duplicate)
    wrong_type = BOOL_FLAG | {"key": "typed", "variants": [{"key": "on", "value": "yes"}]}
    refused = send(client, "post", "/api/v1/flags", wrong_type)
    assert refused.status_code == 400
    assert any("variants" in field for field in error_fields(refused))
    assert not Flag.objects.filter(key="typed").exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "boolean", "variants": []}, "key"),
        (BOOL_FLAG | {"kind": "colour"}, "kind"),
        (BOOL_FLAG | {"variants": "on,off"}, "variants"),
        (BOOL_FLAG | {"key": "Bad Key!"}, "key"),
        (BOOL_FLAG | {"name": "nul\u0000"}, "name"),
    ],
)
def test_malformed_flag_input_names_the_field(
    client: Any, demo: Any, admin_user: Any, body: Any, field: str
) -> None:
    client.force_login(admin_user)
    response = send(client, "post", "/api/v1/flags", body)
    assert response.status_code == 400
    assert field in error_fields(response)


@pytest.mark.django_db
def test_bad_json_is_a_400(client: Any, demo: Any, admin_user: Any) -> None:
    client.force_login(admin_user)
    response = send(client, "post", "/api/v1/flags", "{nope")
    assert response.status_code == 400
    assert "JSON" in response.json()["error"]["message"]


@pytest.mark.django_db
def test_rules_are_validated_by_the_engine(client: Any, demo: Any, editor_user: Any) -> None:
    client.force_login(editor_user)
    url = "/api/v1/flags/llm-model/environments/staging/rules"
    bad = [{"id": "r1", "clauses": [], "serve": {"variant": "gpt-5"}}]
    response = send(client, "put", url, {"rules": bad})
    assert response.status_code == 400
    assert any(field.startswith("rules[0]") for field in error_fields(response))
    good = [
        {
            "id": "r1",
            "name": "paid",
            "clauses": [{"attribute": "tier", "op": "in", "values": ["paid"]}],
            "serve": {"variant": "gpt-4-turbo"},
        }
    ]
    assert send(client, "put", url, {"rules": good}).status_code == 200
    assert config("llm-model", "staging").rules[0]["id"] == "r1"
    assert send(client, "get", url).json()["rules"][0]["id"] == "r1"
    wrong_type = send(
        client,
        "patch",
        "/api/v1/flags/llm-model/environments/staging",
        {"enabled": "maybe", "rules": "all"},
    )
    assert wrong_type.status_code == 400
    assert {"enabled", "rules"} <= set(error_fields(wrong_type))


@pytest.mark.django_db
def test_config_update_and_variants(client: Any, demo: Any, admin_user: Any) -> None:
    client.force_login(admin_user)
    response = send(
        client,
        "patch",
        "/api/v1/flags/llm-model/environments/staging",
        {"default": {"variant": "gpt-4-turbo"}},
    )
    assert response.status_code == 200
    assert response.json()["default"] == {"variant": "gpt-4-turbo"}
    variants = [
        {"key": "gpt-4", "value": "gpt-4"},
        {"key": "gpt-4-turbo", "value": "gpt-4-turbo"},
        {"key": "gpt-4o", "value": "gpt-4o"},
    ]
    response = send(client, "put", "/api/v1/flags/llm-model/variants", {"variants": variants})
    assert response.status_code == 400 and "comment" in error_fields(response)
    response = send(
        client,
        "put",
        "/api/v1/flags/llm-model/variants",
        {"variants": variants, "comment": "add gpt-4o"},
    )
    assert response.status_code == 200
    assert [v["key"] for v in Flag.objects.get(key="llm-model").variants][-1] == "gpt-4o"
    assert send(client, "get", "/api/v1/flags/llm-model/variants").json()[-1]["key"] == "gpt-4o"


@pytest.mark.django_db
def test_editors_may_not_change_variants_or_segments(
    client: Any, demo: Any, editor_user: Any
) -> None:
    client.force_login(editor_user)
    variants = [{"key": "a", "value": "a"}]
    assert (
        send(client, "put", "/api/v1/flags/llm-model/variants", {"variants": variants}).status_code
        == 403
    )
    assert (
        send(client, "patch", "/api/v1/flags/llm-model", {"description": "fine"}).status_code == 200
    )
    assert (
        send(client, "patch", "/api/v1/segments/paid-tier", {"included": ["x"]}).status_code == 403
    )
    assert send(client, "post", "/api/v1/environments", {"key": "qa"}).status_code == 403


@pytest.mark.django_db
def test_versions_and_roll_back(client: Any, demo: Any, admin_user: Any) -> None:
    client.force_login(admin_user)
    toggle = "/api/v1/flags/llm-model/environments/staging/toggle"
    send(client, "post", toggle, {"enabled": False})
    versions = send(client, "get", "/api/v1/flags/llm-model/versions?environment=staging").json()
    enabled_before = next(v for v in versions if v["subject"] == "config" and v["data"]["enabled"])
    response = send(
        client, "post", f"/api/v1/versions/{enabled_before['id']}/rollback", {"comment": "back"}
    )
    assert response.status_code == 201
    assert response.json()["number"] > enabled_before["number"]
    assert config("llm-model", "staging").enabled is True
    assert AuditEvent.objects.filter(action="flag.rolled_back", object_key="llm-model").exists()
    assert send(client, "post", "/api/v1/versions/999999/rollback", {}).status_code == 404


@pytest.mark.django_db
def test_segments(client: Any, demo: Any, admin_user: Any) -> None:
    client.force_login(admin_user)
    created = send(
        client, "post", "/api/v1/segments", {"key": "beta", "name": "Beta", "included": ["u1"]}
    )
    assert created.status_code == 201
    updated = send(client, "patch", "/api/v1/segments/beta", {"included": ["u1", "u2"]})
    assert updated.status_code == 200
    assert Segment.objects.get(key="beta").included == ["u1", "u2"]
    versions = send(client, "get", "/api/v1/segments/beta/versions").json()
    assert [v["number"] for v in versions] == [2, 1]
    bad = send(client, "patch", "/api/v1/segments/beta", {"percentage": 250})
    assert bad.status_code == 400
    assert "percentage" in error_fields(bad)
    bad_clause = send(
        client,
        "patch",
        "/api/v1/segments/beta",
        {"clauses": [{"attribute": "x", "op": "nope", "values": []}]},
    )
    assert bad_clause.status_code == 400
    assert any(f.startswith("clauses") for f in error_fields(bad_clause))


@pytest.mark.django_db
def test_environments(client: Any, demo: Any, admin_user: Any) -> None:
    client.force_login(admin_user)
    created = send(client, "post", "/api/v1/environments", {"key": "qa", "name": "QA"})
    assert created.status_code == 201
    assert FlagConfig.objects.filter(environment__key="qa").count() == Flag.objects.count()
    assert send(client, "post", "/api/v1/environments", {"key": "qa"}).status_code == 400
    assert Environment.objects.filter(key="qa").count() == 1


@pytest.mark.django_db
def test_personal_tokens(client: Any, demo: Any, editor_user: Any) -> None:
    client.force_login(editor_user)
    created = send(client, "post", "/api/v1/tokens", {"name": "ci"})
    assert created.status_code == 201
    raw = created.json()["token"]
    assert raw.startswith("fs_pat_")
    client.logout()
    for header in (f"Token {raw}", f"Bearer {raw}"):
        response = send(
            client,
            "post",
            "/api/v1/flags/llm-model/environments/staging/toggle",
            {"enabled": False},
            HTTP_AUTHORIZATION=header,
        )
        assert response.status_code == 200
    event = AuditEvent.objects.filter(action="flag.toggled").first()
    assert event is not None and event.actor == editor_user and "fs_pat_" in event.actor_label
    # A token cannot mint tokens, and cannot see other people's.
    assert (
        send(
            client, "post", "/api/v1/tokens", {"name": "x"}, HTTP_AUTHORIZATION=f"Token {raw}"
        ).status_code
        == 403
    )
    token_id = created.json()["id"]
    assert (
        send(
            client, "delete", f"/api/v1/tokens/{token_id}", HTTP_AUTHORIZATION=f"Token {raw}"
        ).status_code
        == 204
    )
    assert (
        send(client, "get", "/api/v1/flags", HTTP_AUTHORIZATION=f"Token {raw}").status_code == 401
    )
    assert (
        send(client, "get", "/api/v1/flags", HTTP_AUTHORIZATION="Token fs_pat_unknown").status_code
        == 401
    )


@pytest.mark.django_db
def test_a_change_through_the_api_is_served(
    client: Any, demo: Any, admin_user: Any, django_capture_on_commit_callbacks: Any
) -> None:
    evaluate = {"context": {"key": "zed"}, "flags": ["llm-model"]}
    before = send(client, "post", "/api/v1/evaluate", evaluate, **CLIENT).json()
    assert before["flags"]["llm-model"]["reason"] == "DEFAULT"
    client.force_login(admin_user)
    with django_capture_on_commit_callbacks(execute=True):
        send(
            client,
            "post",
            "/api/v1/flags/llm-model/environments/development/toggle",
            {"enabled": False},
        )
    client.logout()
    after = send(client, "post", "/api/v1/evaluate", evaluate, **CLIENT).json()
    assert after["flags"]["llm-model"]["reason"] == "DISABLED"


@pytest.mark.django_db
def test_nul_in_a_path_key_is_a_404(client: Any, demo: Any, admin_user: Any) -> None:
    client.force_login(admin_user)
    for url in (
        "/api/v1/flags/a%00b",
        "/api/v1/segments/a%00b",
        "/api/v1/flags/llm-model/environments/a%00b",
    ):
        assert client.get(url).status_code == 404, url
