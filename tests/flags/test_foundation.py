"""Settings, demo data, login and Django's admin: the service stands up and people get in."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.urls import reverse

from delivery.models import ApiKey
from flags.models import Environment, Flag, Segment
from flagsite.env import database_from_url, env_bool
from tests.startup import django_setup_in_subprocess


def test_it_refuses_to_start_with_debug_off_and_no_secret_key(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "DEBUG")}
    env["FLAGSITE_VAR_DIR"] = str(tmp_path)
    proc = django_setup_in_subprocess(env)
    assert proc.returncode != 0
    assert "SECRET_KEY is not set and DEBUG is off" in proc.stderr


def test_database_url_parsing() -> None:
    db = database_from_url("postgres://app:s%40cret@db.internal:6543/flags?sslmode=require")
    assert db["ENGINE"] == "django.db.backends.postgresql"
    assert (db["USER"], db["PASSWORD"], db["HOST"], db["PORT"], db["NAME"]) == (
        "app",
        "s@cret",
        "db.internal",
        "6543",
        "flags",
    )
    assert db["OPTIONS"] == {"sslmode": "require"}
    with pytest.raises(ImproperlyConfigured, match="mysql"):
        database_from_url("mysql://x@y/z")


def test_env_bool_rejects_typos(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLAGSITE_X", "ture")
    with pytest.raises(ImproperlyConfigured, match="FLAGSITE_X"):
        env_bool("FLAGSITE_X")


@pytest.mark.django_db
def test_demo_data_loads_what_the_readme_promises_and_is_idempotent() -> None:
    from flags.demo import DEMO_CLIENT_KEY, DEMO_SERVER_KEY, demo_data_load

    demo_data_load()
    demo_data_load()
    assert list(Environment.objects.values_list("key", flat=True)) == [
        "development",
        "staging",
        "production",
    ]
    assert set(Flag.objects.values_list("key", flat=True)) == {
        "llm-model",
        "prompt-version",
        "rag-config",
        "new-rag-pipeline",
    }
    assert set(Segment.objects.values_list("key", flat=True)) == {
        "internal-users",
        "paid-tier",
        "5-percent",
    }
    kinds = {f.key: f.kind for f in Flag.objects.all()}
    assert kinds == {
        "llm-model": "string",
        "prompt-version": "string",
        "rag-config": "json",
        "new-rag-pipeline": "boolean",
    }
    rag = Flag.objects.get(key="rag-config")
    assert {"reranker": True, "top_k": 10} in [v["value"] for v in rag.variants]
    dev_keys = ApiKey.objects.filter(environment__key="development")
    assert dev_keys.filter(key_hash=ApiKey.hash_key(DEMO_SERVER_KEY), kind="server").exists()
    assert dev_keys.filter(key_hash=ApiKey.hash_key(DEMO_CLIENT_KEY), kind="client").exists()
    assert ApiKey.objects.count() == 2


@pytest.mark.django_db
def test_it_logs_in_and_out(client: Any, admin_user: Any) -> None:
    response = client.post(reverse("login"), {"username": "alice", "password": "pw-alice"})
    assert response.status_code == 302
    assert client.get(reverse("dashboard")).status_code == 200
    client.post(reverse("logout"))
    assert client.get(reverse("dashboard")).status_code == 302


@pytest.mark.django_db
def test_a_wrong_password_is_refused(client: Any, admin_user: Any) -> None:
    response = client.post(reverse("login"), {"username": "alice", "password": "nope"})
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_django_admin_lists_every_model_for_superusers(client: Any, demo: Any) -> None:
    from django.contrib import admin
    from django.contrib.auth import get_user_model

    client.force_login(get_user_model().objects.get(username="admin"))
    for model in admin.site._registry:
        if model._meta.app_label not in ("flags", "delivery", "feedback", "experiments"):
            continue
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        assert client.get(url).status_code == 200, url


@pytest.mark.django_db
def test_django_admin_is_closed_to_non_staff(client: Any, editor_user: Any) -> None:
    client.force_login(editor_user)
    response = client.get("/django-admin/")
    assert response.status_code == 302 and "login" in response["Location"]


@pytest.mark.django_db
def test_healthz_reports_ok(client: Any) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}


@pytest.mark.django_db
def test_django_admin_is_closed_to_staff_who_are_not_superusers(
    client: Any, editor_user: Any
) -> None:
    editor_user.is_staff = True
    editor_user.save()
    client.force_login(editor_user)
    response = client.get("/django-admin/")
    assert response.status_code == 302 and "login" in response["Location"]
