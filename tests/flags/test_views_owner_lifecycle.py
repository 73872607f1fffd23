"""Owner and lifecycle in the UI: the owner on the dashboard and the settings page, archive /
unarchive one flag or many (versioned, audited, admins only), deactivating users."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from flags.changes import Actor, flag_create, flag_update
from flags.models import AuditEvent, Flag, Version
from tests.flags.builders import BOOL_VARIANTS, bool_flag
from tests.flags.ui_support import client_for, setup_flag

pytestmark = pytest.mark.django_db

SETTINGS = {
    "name": "new-checkout",
    "description": "",
    "tags": "",
    "lifecycle": "active",
    "variant_count": "2",
    "v0-key": "on",
    "v0-value": "true",
    "v1-key": "off",
    "v1-value": "false",
    "op": "save",
}


def test_the_dashboard_shows_each_flags_owner(admin_user: Any, viewer_user: Any) -> None:
    flag, _, _ = setup_flag()
    bool_flag("orphan")
    flag_update(flag=flag, actor=Actor(label="t"), owner_id=admin_user.pk)
    body = client_for(viewer_user).get("/").content.decode()
    assert "owner alice" in body and "no owner" in body
    assert 'form="bulk-form"' not in body  # viewers get no bulk checkboxes


def test_an_editor_sets_and_clears_the_owner(editor_user: Any, admin_user: Any) -> None:
    setup_flag()
    editor = client_for(editor_user)
    page = editor.get("/flags/new-checkout/settings/").content.decode()
    assert 'name="owner"' in page and f'value="{admin_user.pk}"' in page
    response = editor.post("/flags/new-checkout/settings/", SETTINGS | {"owner": admin_user.pk})
    assert response.status_code == 302
    flag = Flag.objects.get(key="new-checkout")
    assert flag.owner == admin_user
    version = Version.objects.filter(flag=flag, subject="flag").latest("number")
    assert version.data["owner_id"] == admin_user.pk
    # A form without the field keeps the owner; an empty choice clears it.
    editor.post("/flags/new-checkout/settings/", SETTINGS | {"name": "renamed"})
    assert Flag.objects.get(key="new-checkout").owner == admin_user
    editor.post("/flags/new-checkout/settings/", SETTINGS | {"owner": ""})
    assert Flag.objects.get(key="new-checkout").owner is None


def test_an_unknown_or_inactive_owner_is_refused(editor_user: Any, admin_user: Any) -> None:
    setup_flag()
    gone = get_user_model().objects.create_user("gone", password="x", is_active=False)
    editor = client_for(editor_user)
    for owner in ("999999", str(gone.pk)):
        response = editor.post("/flags/new-checkout/settings/", SETTINGS | {"owner": owner})
        assert response.status_code == 400
        assert "owner" in response.content.decode()
    assert Flag.objects.get(key="new-checkout").owner is None


def test_an_admin_archives_and_unarchives_a_flag(admin_user: Any) -> None:
    setup_flag()
    admin = client_for(admin_user)
    page = admin.get("/flags/new-checkout/settings/").content.decode()
    assert 'value="archive"' in page
    response = admin.post(
        "/flags/new-checkout/lifecycle/", {"action": "archive", "comment": "done"}
    )
    assert response.status_code == 302
    assert Flag.objects.get(key="new-checkout").lifecycle == "archived"
    event = AuditEvent.objects.filter(object_key="new-checkout").latest("id")
    assert event.action == "flag.updated" and event.comment == "done"
    assert event.version is not None and event.version.data["lifecycle"] == "archived"
    page = admin.get("/flags/new-checkout/settings/").content.decode()
    assert 'value="unarchive"' in page
    admin.post("/flags/new-checkout/lifecycle/", {"action": "unarchive", "comment": "back"})
    assert Flag.objects.get(key="new-checkout").lifecycle == "active"


def test_archiving_is_for_admins_and_checks_the_action(editor_user: Any, admin_user: Any) -> None:
    setup_flag()
    assert (
        client_for(editor_user)
        .post("/flags/new-checkout/lifecycle/", {"action": "archive"})
        .status_code
        == 403
    )
    response = client_for(admin_user).post("/flags/new-checkout/lifecycle/", {"action": "burn"})
    assert response.status_code == 400 and b"action" in response.content
    assert Flag.objects.get(key="new-checkout").lifecycle == "active"


def test_bulk_archive_from_the_dashboard(admin_user: Any, editor_user: Any) -> None:
    setup_flag()
    bool_flag("b-flag")
    bool_flag("c-flag")
    admin = client_for(admin_user)
    page = admin.get("/").content.decode()
    assert 'id="bulk-form"' in page and 'value="b-flag" form="bulk-form"' in page
    before = Version.objects.count()
    response = admin.post(
        "/flags-bulk/",
        {"action": "archive", "flags": ["b-flag", "new-checkout"], "next": "/", "comment": "old"},
    )
    assert response.status_code == 302 and response["Location"] == "/"
    lifecycles = dict(Flag.objects.values_list("key", "lifecycle"))
    assert lifecycles == {"b-flag": "archived", "new-checkout": "archived", "c-flag": "active"}
    assert Version.objects.count() == before + 2
    assert AuditEvent.objects.filter(action="flag.updated", object_key="b-flag").exists()
    admin.post("/flags-bulk/", {"action": "unarchive", "flags": ["b-flag"], "comment": "x"})
    assert Flag.objects.get(key="b-flag").lifecycle == "active"
    editor = client_for(editor_user)
    assert (
        editor.post("/flags-bulk/", {"action": "archive", "flags": ["c-flag"]}).status_code == 403
    )


def test_bulk_refuses_unknown_flags_and_actions(admin_user: Any) -> None:
    setup_flag()
    admin = client_for(admin_user)
    response = admin.post("/flags-bulk/", {"action": "archive", "flags": ["new-checkout", "nope"]})
    assert response.status_code == 400 and b"nope" in response.content
    response = admin.post("/flags-bulk/", {"action": "delete", "flags": ["new-checkout"]})
    assert response.status_code == 400 and b"action" in response.content
    assert Flag.objects.get(key="new-checkout").lifecycle == "active"


def test_an_admin_deactivates_a_user_who_then_cannot_log_in(
    admin_user: Any, editor_user: Any
) -> None:
    editor_user.set_password("pw-12345")
    editor_user.save()
    logged_in = client_for(editor_user)
    flag = flag_create(
        key="kept", name="kept", kind="boolean", variants=BOOL_VARIANTS, actor=Actor(editor_user)
    )
    admin = client_for(admin_user)
    assert "Deactivate" in admin.get("/users/").content.decode()
    response = admin.post(f"/users/{editor_user.pk}/active/", {"active": "0"})
    assert response.status_code == 302
    editor_user.refresh_from_db()
    assert editor_user.is_active is False
    assert AuditEvent.objects.filter(action="user.deactivated", object_key="eddie").exists()
    # History kept: the user row and what they did are still there.
    assert AuditEvent.objects.filter(actor=editor_user, object_key=flag.key).exists()
    assert not Client().login(username="eddie", password="pw-12345")
    assert logged_in.get("/").status_code == 302  # the old session is gone too
    admin.post(f"/users/{editor_user.pk}/active/", {"active": "1"})
    assert Client().login(username="eddie", password="pw-12345")


def test_deactivating_is_admin_only_and_not_yourself(admin_user: Any, editor_user: Any) -> None:
    assert (
        client_for(editor_user).post(f"/users/{admin_user.pk}/active/", {"active": "0"}).status_code
        == 403
    )
    admin = client_for(admin_user)
    admin.post(f"/users/{admin_user.pk}/active/", {"active": "0"})
    admin_user.refresh_from_db()
    assert admin_user.is_active
    response = admin.post(f"/users/{editor_user.pk}/active/", {"active": "maybe"})
    assert response.status_code == 400 and b"active" in response.content


def test_archiving_with_production_needs_a_comment_and_changes_nothing_without(
    admin_user: Any,
) -> None:
    setup_flag()  # dev and prod
    bool_flag("b-flag")
    admin = client_for(admin_user)
    response = admin.post(
        "/flags-bulk/", {"action": "archive", "flags": ["b-flag", "new-checkout"]}, follow=True
    )
    assert "comment" in response.content.decode()
    assert set(Flag.objects.values_list("lifecycle", flat=True)) == {"active"}
    response = admin.post("/flags/new-checkout/lifecycle/", {"action": "archive"}, follow=True)
    assert "comment" in response.content.decode()
    assert Flag.objects.get(key="new-checkout").lifecycle == "active"
