"""Users and roles: admins only; an admin cannot lock themselves out."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model

from flags.models import AuditEvent, Role, user_role
from tests.flags.ui_support import client_for

pytestmark = pytest.mark.django_db


def test_an_admin_sets_a_role(admin_user: Any, viewer_user: Any) -> None:
    client = client_for(admin_user)
    assert "vera" in client.get("/users/").content.decode()
    response = client.post(f"/users/{viewer_user.id}/role/", {"role": "editor"})
    assert response.status_code == 302
    viewer_user.refresh_from_db()
    assert user_role(get_user_model().objects.get(pk=viewer_user.pk)) == Role.EDITOR
    assert AuditEvent.objects.filter(action="user.role_changed", object_key="vera").exists()
    assert client.post(f"/users/{viewer_user.id}/role/", {"role": "god"}).status_code == 302
    assert user_role(get_user_model().objects.get(pk=viewer_user.pk)) == Role.EDITOR


def test_an_admin_cannot_demote_themselves(admin_user: Any) -> None:
    client_for(admin_user).post(f"/users/{admin_user.id}/role/", {"role": "viewer"})
    assert user_role(get_user_model().objects.get(pk=admin_user.pk)) == Role.ADMIN


def test_an_admin_creates_a_user(admin_user: Any) -> None:
    client = client_for(admin_user)
    payload = {"username": "nina", "password": "long-password-1", "role": "editor"}
    assert client.post("/users/new/", payload).status_code == 302
    assert user_role(get_user_model().objects.get(username="nina")) == Role.EDITOR
    assert client.post("/users/new/", payload).status_code == 400  # taken


def test_editors_and_viewers_cannot_manage_users(editor_user: Any, viewer_user: Any) -> None:
    for user in (editor_user, viewer_user):
        client = client_for(user)
        assert client.get("/users/").status_code == 403
        assert client.post(f"/users/{user.id}/role/", {"role": "admin"}).status_code == 403
        assert (
            client.post("/users/new/", {"username": "x", "password": "y" * 10}).status_code == 403
        )
    assert "/users/" not in client_for(editor_user).get("/").content.decode()


@pytest.mark.parametrize("weak", ["password", "12345678", "short"])
def test_a_weak_password_is_refused_on_the_password_field(admin_user: Any, weak: str) -> None:
    response = client_for(admin_user).post(
        "/users/new/", {"username": "nina", "password": weak, "role": "editor"}
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "This password is too common." in html or "too short" in html
    assert "has-error" in html  # on the field, not a page-level message
    assert not get_user_model().objects.filter(username="nina").exists()


def test_a_password_like_the_username_is_refused_when_that_validator_is_on(
    admin_user: Any, settings: Any
) -> None:
    settings.AUTH_PASSWORD_VALIDATORS = [
        {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"}
    ]
    response = client_for(admin_user).post(
        "/users/new/", {"username": "ninagarcia", "password": "ninagarcia1", "role": "viewer"}
    )
    assert response.status_code == 400
    assert "too similar to the username" in response.content.decode()
