"""Every POST in the UI refuses viewers; Django's admin is for superusers only."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from flags.models import Version
from tests.flags.builders import segment
from tests.flags.ui_support import client_for, setup_flag

pytestmark = pytest.mark.django_db


def test_a_viewer_gets_403_on_every_post(viewer_user: Any) -> None:
    flag, _, _ = setup_flag()
    segment("beta", included=["a"])
    version = Version.objects.filter(flag=flag).first()
    assert version is not None
    client = client_for(viewer_user)
    for url in (
        reverse("flag_new"),
        reverse("flag_settings", args=[flag.key]),
        reverse("flag_toggle", args=[flag.key, "dev"]),
        reverse("targeting_save", args=[flag.key, "dev"]),
        reverse("version_rollback", args=[version.id]),
        reverse("segment_new"),
        reverse("segment_detail", args=["beta"]),
        reverse("environment_new"),
        reverse("api_key_new"),
        reverse("api_key_revoke", args=[1]),
        reverse("user_new"),
        reverse("user_role", args=[viewer_user.id]),
    ):
        response = client.post(url, {"comment": "x", "enabled": "true"})
        assert response.status_code == 403, url


def test_an_editor_gets_403_on_production_posts(editor_user: Any) -> None:
    flag, _, prod = setup_flag()
    version = Version.objects.get(flag=flag, environment=prod, number=1)
    client = client_for(editor_user)
    for url in (
        reverse("flag_toggle", args=[flag.key, "prod"]),
        reverse("targeting_save", args=[flag.key, "prod"]),
        reverse("version_rollback", args=[version.id]),
    ):
        assert client.post(url, {"comment": "x", "enabled": "true"}).status_code == 403, url


def test_anonymous_posts_go_to_login(client: Any) -> None:
    setup_flag()
    response = client.post(reverse("flag_toggle", args=["new-checkout", "dev"]))
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_django_admin_is_for_superusers_only(client: Any, admin_user: Any) -> None:
    from django.contrib.auth import get_user_model

    client.force_login(admin_user)  # a flagsite admin who is not a Django superuser
    assert client.get("/django-admin/").status_code == 302
    root = get_user_model().objects.create_superuser("root", "r@example.com", "pw-root-123")
    client.force_login(root)
    assert client.get("/django-admin/").status_code == 200


def test_the_403_page_shows_the_users_real_role(editor_user: Any) -> None:
    flag, _, _ = setup_flag()
    response = client_for(editor_user).post(
        reverse("flag_toggle", args=[flag.key, "prod"]), {"comment": "x", "enabled": "true"}
    )
    assert response.status_code == 403
    html = response.content.decode()
    assert 'class="role role-editor">editor<' in html
    assert "role-viewer" not in html
    assert "Only admins can change flags in prod" in html  # the reason, from flags.policy
