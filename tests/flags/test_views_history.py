"""Version history: diffs between any two versions and one-click rollback with a comment."""

from __future__ import annotations

from typing import Any

import pytest

from flags.changes import Actor, flag_config_update, flag_update
from flags.models import AuditEvent, FlagConfig, Version
from tests.flags.ui_support import HTMX, client_for, setup_flag

pytestmark = pytest.mark.django_db

RENAMED = [{"key": "on", "value": True, "name": "On"}, {"key": "off", "value": False}]


def changed_twice() -> tuple[Any, Any, Any]:
    flag, dev, prod = setup_flag()
    actor = Actor(label="t")
    flag_config_update(flag=flag, environment=dev, actor=actor, enabled=True)
    flag_config_update(flag=flag, environment=dev, actor=actor, default={"variant": "on"})
    return flag, dev, prod


def test_it_lists_versions_and_diffs_any_two(viewer_user: Any) -> None:
    flag, dev, _ = changed_twice()
    client = client_for(viewer_user)
    html = client.get("/flags/new-checkout/history/?scope=dev").content.decode()
    assert 'id="version-3"' in html and 'id="version-1"' in html
    v1 = Version.objects.get(flag=flag, environment=dev, number=1)
    v3 = Version.objects.get(flag=flag, environment=dev, number=3)
    diff = client.get(
        f"/flags/new-checkout/history/?scope=dev&a={v1.id}&b={v3.id}", headers=HTMX
    ).content.decode()
    assert 'id="diff"' in diff and "<html" not in diff
    assert "<code>enabled</code>" in diff and "<code>default.variant</code>" in diff
    assert "Roll back" not in html  # viewers get no rollback control


def test_it_shows_definition_versions(viewer_user: Any) -> None:
    setup_flag()
    html = client_for(viewer_user).get("/flags/new-checkout/history/?scope=definition")
    assert 'id="version-1"' in html.content.decode()


def test_it_rolls_back_with_a_comment(editor_user: Any) -> None:
    flag, dev, _ = changed_twice()
    v1 = Version.objects.get(flag=flag, environment=dev, number=1)
    response = client_for(editor_user).post(
        f"/versions/{v1.id}/rollback/", {"comment": "turbo broke things"}
    )
    assert response.status_code == 302
    config = FlagConfig.objects.get(flag=flag, environment=dev)
    assert config.version == 4 and config.enabled is False
    event = AuditEvent.objects.get(action="flag.rolled_back")
    assert event.comment == "turbo broke things" and event.actor == editor_user


def test_a_rollback_needs_a_comment(editor_user: Any) -> None:
    flag, dev, _ = changed_twice()
    v1 = Version.objects.get(flag=flag, environment=dev, number=1)
    client_for(editor_user).post(f"/versions/{v1.id}/rollback/", {"comment": "  "})
    assert FlagConfig.objects.get(flag=flag, environment=dev).version == 3


def test_viewers_and_editors_in_production_cannot_roll_back(
    viewer_user: Any, editor_user: Any
) -> None:
    flag, dev, prod = changed_twice()
    v1 = Version.objects.get(flag=flag, environment=dev, number=1)
    assert (
        client_for(viewer_user).post(f"/versions/{v1.id}/rollback/", {"comment": "x"}).status_code
        == 403
    )
    p1 = Version.objects.get(flag=flag, environment=prod, number=1)
    assert (
        client_for(editor_user).post(f"/versions/{p1.id}/rollback/", {"comment": "x"}).status_code
        == 403
    )
    # A definition version whose variants differ from today's reaches production.
    flag_update(flag=flag, actor=Actor(label="t"), comment="rename", variants=RENAMED)
    definition = Version.objects.get(flag=flag, subject="flag", number=1)
    assert (
        client_for(editor_user)
        .post(f"/versions/{definition.id}/rollback/", {"comment": "x"})
        .status_code
        == 403
    )
    assert client_for(editor_user).post("/versions/999999/rollback/", {}).status_code == 404


def test_the_activity_tab_lists_the_flags_audit_trail(viewer_user: Any) -> None:
    changed_twice()
    html = client_for(viewer_user).get("/flags/new-checkout/activity/").content.decode()
    assert "flag.created" in html and "flag.config_updated" in html
