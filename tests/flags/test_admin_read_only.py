"""Django's admin shows flagsite's data to superusers but cannot change it: every model has its own
write path (validation, version, audit, publish) that a save in the admin would skip."""

from __future__ import annotations

from typing import Any

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.test import Client

from delivery.models import ApiKey
from flags.models import Environment, Flag, FlagConfig, PersonalToken, Segment, UserProfile
from tests.flags.ui_support import setup_flag

pytestmark = pytest.mark.django_db

# By class name, so the test follows a model that moves to another app (ApiKey -> delivery).
MODELS = [
    "Environment",
    "Flag",
    "FlagConfig",
    "Segment",
    "ApiKey",
    "Version",
    "AuditEvent",
    "UserProfile",
    "PersonalToken",
    "Feedback",
    "LlmCall",
    "Exposure",
    "ImplicitSignal",
    "ModelPrice",
]


def admin_url(model_name: str) -> str:
    model = next(m for m in apps.get_models() if m.__name__ == model_name)
    return f"/django-admin/{model._meta.app_label}/{model._meta.model_name}/"


@pytest.fixture
def root(db: Any) -> Client:
    user = get_user_model().objects.create_superuser("root", "root@example.com", "pw-root-123")
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize("model_name", MODELS)
def test_a_superuser_lists_every_model_but_cannot_add(root: Client, model_name: str) -> None:
    url = admin_url(model_name)
    listing = root.get(url)
    assert listing.status_code == 200
    assert f'href="{url}add/"' not in listing.content.decode()
    assert root.get(url + "add/").status_code == 403
    assert root.post(url + "add/", {"key": "x", "name": "x"}).status_code == 403


def test_a_flag_configuration_cannot_be_changed_in_the_admin(root: Client) -> None:
    flag, _, prod = setup_flag()
    config = FlagConfig.objects.get(flag=flag, environment=prod)
    url = f"{admin_url('FlagConfig')}{config.pk}/change/"
    page = root.get(url)
    assert page.status_code == 200  # the view page, with no form to save
    assert 'name="_save"' not in page.content.decode()
    response = root.post(
        url,
        {
            "flag": flag.pk,
            "environment": prod.pk,
            "enabled": "on",
            "off_variant": "off",
            "rules": "[]",
            "default": '{"variant": "on"}',
            "prerequisites": "[]",
            "version": "1",
        },
    )
    assert response.status_code == 403
    config.refresh_from_db()
    assert config.enabled is False and config.version == 1
    delete = f"{admin_url('FlagConfig')}{config.pk}/delete/"
    assert root.post(delete, {"post": "yes"}).status_code == 403
    assert FlagConfig.objects.filter(pk=config.pk).exists()


def test_flags_segments_environments_and_keys_cannot_be_changed_or_deleted(
    root: Client, demo: Any
) -> None:
    flag = Flag.objects.get(key="llm-model")
    seg = Segment.objects.first()
    dev = Environment.objects.get(key="development")
    key = ApiKey.objects.first()
    assert seg is not None and key is not None
    for model, obj, data in (
        ("Flag", flag, {"key": flag.key, "name": "renamed", "kind": flag.kind}),
        ("Segment", seg, {"key": seg.key, "name": "renamed", "bucket_by": "key"}),
        ("Environment", dev, {"key": dev.key, "name": "renamed"}),
        ("ApiKey", key, {"name": "renamed", "environment": dev.pk, "kind": key.kind}),
    ):
        change = f"{admin_url(model)}{obj.pk}/change/"
        assert root.post(change, data).status_code == 403, model
        delete = f"{admin_url(model)}{obj.pk}/delete/"
        assert root.post(delete, {"post": "yes"}).status_code == 403, model
    assert Flag.objects.get(pk=flag.pk).name == flag.name
    assert Segment.objects.get(pk=seg.pk).name == seg.name
    assert Environment.objects.get(pk=dev.pk).name == dev.name
    assert ApiKey.objects.get(pk=key.pk).name == key.name
    # The list's bulk delete action is gone too.
    listing = root.get(admin_url("Flag")).content.decode()
    assert "delete_selected" not in listing


def test_roles_and_tokens_cannot_be_changed_in_the_admin(root: Client, viewer_user: Any) -> None:
    profile = UserProfile.objects.get(user=viewer_user)
    url = f"{admin_url('UserProfile')}{profile.pk}/change/"
    assert root.post(url, {"user": viewer_user.pk, "role": "admin"}).status_code == 403
    assert UserProfile.objects.get(pk=profile.pk).role == "viewer"
    assert root.get(admin_url("PersonalToken") + "add/").status_code == 403
    assert not PersonalToken.objects.exists()
