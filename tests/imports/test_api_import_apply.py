"""POST /api/v1/imports/{token}/apply: once, with the page's rules and result; large imports
are queued for the worker and GET shows their progress."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from flags.changes import Actor, environment_create, flag_create
from flags.models import AuditEvent, Flag, FlagConfig
from imports.jobs import import_job_run
from imports.models import ImportJob
from tests.flags.builders import BOOL_VARIANTS, environments
from tests.flags.ui_support import client_for
from tests.imports.support import (
    document,
    feature,
    post_api,
    post_document,
    token_headers,
    unsupported,
)

pytestmark = pytest.mark.django_db
DATA = document(
    feature("a"),
    feature("b", user_ids="alice,bob"),
    unsupported("custom-one"),
    segments=[{"id": 1, "name": "beta", "constraints": []}],
)


@pytest.fixture
def editor(db: Any, editor_user: Any) -> dict[str, str]:
    environments()
    return token_headers(editor_user)


def _plan(headers: dict[str, str], data: Any = DATA, environment: str = "dev") -> str:
    body = {"environment": environment, "document": data}
    response = post_api(Client(), "/api/v1/imports/unleash", body, headers)
    assert response.status_code == 201, response.content
    return str(response.json()["token"])


def _apply(headers: dict[str, str], token: str, comment: str = "") -> Any:
    return post_api(Client(), f"/api/v1/imports/{token}/apply", {"comment": comment}, headers)


def test_it_plans_then_applies_through_the_api(editor: dict[str, str]) -> None:
    token = _plan(editor)
    response = _apply(editor, token, "from CI")
    assert response.status_code == 202, response.content
    data = response.json()
    # A small import runs at once (as on the page); a large one would be "queued"
    assert data["status"] == "succeeded" and data["done"] == data["total"] == 7
    assert data["applied_by"] == "eddie" and data["comment"] == "from CI"
    assert data["result"]["flags"]["create"] == ["a", "b", "custom-one"]
    assert data["audit_event"] == AuditEvent.objects.get(action="import.applied").pk
    assert FlagConfig.objects.get(flag__key="b", environment__key="dev").enabled
    assert Client().get(f"/api/v1/imports/{token}", headers=editor).json() == data


def test_it_gives_the_same_plan_and_result_as_the_page(
    editor: dict[str, str], editor_user: Any
) -> None:
    # Given the same document planned through the page and through the API
    page = client_for(editor_user)
    assert post_document(page, DATA).status_code == 302
    by_page = ImportJob.objects.get()
    by_api = ImportJob.objects.get(token=_plan(editor))
    # Then the plans are the same
    assert by_api.plan == by_page.plan and by_api.plan_digest == by_page.plan_digest
    # And applied (the page's into dev, then the API's into another environment, where the
    # flags now exist), each environment ends up configured the same
    assert page.post(f"/imports/{by_page.token}/apply/").status_code == 302
    environment_create(key="qa", name="QA", actor=Actor(label="test"))
    applied = _apply(editor, _plan(editor, environment="qa")).json()
    by_page.refresh_from_db()
    assert applied["status"] == by_page.status == "succeeded"
    assert applied["result"]["flags"]["change"] == by_page.result["flags"]["create"]
    for key in ("a", "b", "custom-one"):
        dev = FlagConfig.objects.get(flag__key=key, environment__key="dev").as_data()
        qa = FlagConfig.objects.get(flag__key=key, environment__key="qa").as_data()
        assert dev == qa, key


def test_it_refuses_to_apply_twice(editor: dict[str, str], editor_user: Any) -> None:
    token = _plan(editor)
    assert _apply(editor, token).status_code == 202
    again = _apply(editor, token)
    assert again.status_code == 400
    assert "already applied (it is succeeded)" in again.json()["error"]["fields"]["status"][0]
    assert AuditEvent.objects.filter(action="import.applied").count() == 1
    # Nor can the page apply it again
    client_for(editor_user).post(f"/imports/{token}/apply/")
    assert AuditEvent.objects.filter(action="import.applied").count() == 1


def test_it_asks_for_a_comment_in_production_and_refuses_editors_and_viewers(
    editor: dict[str, str], admin_user: Any, viewer_user: Any
) -> None:
    admin = token_headers(admin_user)
    token = _plan(admin, environment="prod")
    assert _apply(token_headers(viewer_user), token).status_code == 403
    assert _apply(editor, token).status_code == 403
    refused = _apply(admin, token)
    assert refused.status_code == 400 and "comment" in refused.json()["error"]["fields"]
    assert _apply(admin, token, "moving prod from Unleash").status_code == 202
    assert Flag.objects.count() == 3


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('{"comment": "a\\u0000"}', "Null characters"),
        ('{"comment": "a\\ud800"}', "Surrogate characters"),
        ('{"comment": "' + "x" * 2001 + '"}', "no more than 2000"),
    ],
)
def test_it_refuses_an_unstorable_comment(editor: dict[str, str], body: str, message: str) -> None:
    token = _plan(editor)
    response = post_api(Client(), f"/api/v1/imports/{token}/apply", body, editor)
    assert response.status_code == 400
    assert message in response.json()["error"]["fields"]["comment"][0]
    assert ImportJob.objects.get().status == "planned"


def test_it_makes_a_new_plan_when_flags_changed_since(editor: dict[str, str]) -> None:
    token = _plan(editor)
    flag_create(key="a", name="a", kind="boolean", variants=BOOL_VARIANTS, actor=Actor(label="t"))
    response = _apply(editor, token)
    assert response.status_code == 400
    assert "review it (GET) and apply again" in response.json()["error"]["fields"]["plan"][0]
    plan = Client().get(f"/api/v1/imports/{token}", headers=editor).json()
    assert plan["status"] == "planned"
    assert {r["key"]: r["action"] for r in plan["plan"]["flags"]}["a"] != "create"


def test_a_large_import_is_queued_for_the_worker_and_get_shows_its_progress(
    editor: dict[str, str],
    settings: Any,
    monkeypatch: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    from imports import tasks

    settings.FLAGSITE_IMPORT_INLINE_MAX_FLAGS = 2
    sent: list[int] = []
    monkeypatch.setattr(tasks.import_job_run_task, "delay", sent.append)
    token = _plan(editor)
    with django_capture_on_commit_callbacks(execute=True):
        response = _apply(editor, token)
    assert response.status_code == 202
    assert response.json()["status"] == "queued" and response.json()["in_worker"] is True
    job = ImportJob.objects.get()
    assert sent == [job.pk] and not Flag.objects.exists()
    import_job_run(job_id=job.pk)  # what the worker's task does
    data = Client().get(f"/api/v1/imports/{token}", headers=editor).json()
    assert data["status"] == "succeeded" and data["percent"] == 100 and data["errors"] == []
