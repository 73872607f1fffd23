"""POST /api/v1/imports/unleash: a plan, nothing applied; bad input refused naming the field;
who may plan where; the limits the page and manage.py share."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from flags.models import Flag
from imports.models import ImportJob
from tests.flags.builders import environments
from tests.flags.ui_support import client_for
from tests.imports.support import document, feature, post_api, post_document, token_headers

pytestmark = pytest.mark.django_db
URL = "/api/v1/imports/unleash"


@pytest.fixture
def editor(db: Any, editor_user: Any) -> dict[str, str]:
    environments()
    return token_headers(editor_user)


def _fields(response: Any) -> dict[str, list[str]]:
    assert response.status_code == 400, response.content[:500]
    return dict(response.json()["error"]["fields"])


def test_it_plans_an_import_without_applying_it(editor: dict[str, str]) -> None:
    body = {"environment": "dev", "document": document(feature("a"), feature("b", user_ids="x"))}
    response = post_api(Client(), URL, body, editor)
    assert response.status_code == 201, response.content
    data = response.json()
    job = ImportJob.objects.get()
    assert (
        data["token"] == str(job.token) and response["Location"] == f"/api/v1/imports/{job.token}"
    )
    assert data["status"] == "planned" and data["environment"] == "dev"
    assert [(r["key"], r["action"]) for r in data["plan"]["flags"]] == [
        ("a", "create"),
        ("b", "create"),
    ]
    assert data["plan"]["counts"]["create"] == 2 and data["total"] == 4 and data["done"] == 0
    assert data["created_by"] == "eddie" and data["applied_by"] is None
    assert not Flag.objects.exists()
    # And GET answers the same import
    got = Client().get(f"/api/v1/imports/{job.token}", headers=editor)
    assert got.status_code == 200 and got.json()["plan"] == data["plan"]


def _doc(*features: Any) -> dict[str, Any]:
    return {"environment": "dev", "document": {"features": list(features)}}


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ('{"environment": ', "body", "Not valid JSON"),
        ("[1, 2]", "body", "Expected a JSON object"),
        ("[" * 100 + "]" * 100, "body", "nested deeper than 64 levels"),
        (b'{"environment": "dev", "document": "\xff"}', "body", "not UTF-8"),
        ({"environment": "nope", "document": {"features": []}}, "environment", "known environ"),
        ({"environment": "dev\u0000", "document": {"features": []}}, "environment", "No such"),
        ({"environment": 7, "document": {"features": []}}, "environment", "(text)"),
        ({"environment": "dev"}, "document", "is required"),
        ({"environment": "dev", "document": [1]}, "document", "got a list"),
        ({"environment": "dev", "document": {"toggles": []}}, "document", "'features'"),
        ({**_doc(), "apply": True}, "apply", "Unknown field"),
        ('{"environment": "dev", "document": {"features": []}, "\\ud800": 1}', "body", "Unknown"),
        (_doc({"name": "a", "strategies": "x"}), "document.features[0].strategies", "a list"),
        (_doc({"name": "a", "strategies": [42]}), "document.features[0].strategies[0]", "object"),
        (_doc({"strategies": []}), "document.features[0].name", "the feature's name"),
        (
            _doc({"name": "a", "strategies": [{"name": "flexibleRollout", "parameters": "x"}]}),
            "document.features[0].strategies[0].parameters",
            "must be an object",
        ),
        (
            _doc(
                {
                    "name": "a",
                    "strategies": [{"name": "default"}, {"name": "default", "constraints": {}}],
                }
            ),
            "document.features[0].strategies[1].constraints",
            "must be a list",
        ),
        (
            _doc(
                feature("ok"),
                {
                    "name": "b",
                    "strategies": [{"name": "flexibleRollout", "parameters": {"rollout": "abc"}}],
                },
            ),
            "document.features[1].strategies[0].parameters.rollout",
            "percentage from 0 to 100",
        ),
        (
            '{"environment": "dev", "document": {"features": [{"name": "a\\ud800"}]}}',
            "document.features[0].name",
            "unpaired surrogate",
        ),
        (
            '{"environment": "dev", "document": {"features": [{"name": "a\\u0000"}]}}',
            "document.features[0].name",
            "NUL",
        ),
    ],
)
def test_it_refuses_bad_input_naming_the_field(
    editor: dict[str, str], body: Any, field: str, message: str
) -> None:
    fields = _fields(post_api(Client(), URL, body, editor))
    assert list(fields) == [field], fields
    assert message in fields[field][0]
    assert not ImportJob.objects.exists()


def test_it_refuses_a_body_over_the_import_limit_with_413(
    editor: dict[str, str], settings: Any
) -> None:
    settings.FLAGSITE_IMPORT_MAX_BYTES = 1000
    body = {"environment": "dev", "document": document(feature("x" * 1000))}
    response = post_api(Client(), URL, body, editor)
    assert response.status_code == 413
    error = response.json()["error"]
    assert error["code"] == "too_large" and "the limit is 1,000 bytes" in error["message"]
    assert not ImportJob.objects.exists()


def test_it_takes_documents_over_the_api_s_usual_body_limit(
    editor: dict[str, str], settings: Any
) -> None:
    # The import's own limit (FLAGSITE_IMPORT_MAX_BYTES), not the 2.5 MB of other endpoints
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2000
    body = {"environment": "dev", "document": document(*[feature(f"f{i:03d}") for i in range(60)])}
    assert len(json.dumps(body)) > 2000
    assert post_api(Client(), URL, body, editor).status_code == 201


def test_it_refuses_more_features_than_the_limit_as_the_page_and_the_command_do(
    editor: dict[str, str], editor_user: Any, settings: Any, tmp_path: Path
) -> None:
    settings.FLAGSITE_IMPORT_MAX_FLAGS = 2
    data = document(feature("a"), feature("b"), feature("c"))
    fields = _fields(post_api(Client(), URL, {"environment": "dev", "document": data}, editor))
    assert "at most 2 are imported at once" in fields["document.features"][0]
    page = post_document(client_for(editor_user), data)
    assert page.status_code == 400 and "at most 2 are imported at once" in page.content.decode()
    path = tmp_path / "unleash.json"
    path.write_text(json.dumps(data))
    with pytest.raises(CommandError, match="at most 2 are imported at once"):
        call_command("import_unleash", str(path), "--environment", "dev", stdout=StringIO())
    settings.FLAGSITE_IMPORT_MAX_SEGMENTS = 1
    data = document(feature("a"), segments=[{"id": 1}, {"id": 2}])
    fields = _fields(post_api(Client(), URL, {"environment": "dev", "document": data}, editor))
    assert "FLAGSITE_IMPORT_MAX_SEGMENTS" in fields["document.segments"][0]


def test_it_refuses_a_viewer_before_reading_the_body_and_an_editor_in_production(
    editor: dict[str, str], viewer_user: Any
) -> None:
    viewer = token_headers(viewer_user)
    for body in ("not json", {"environment": "dev", "document": document(feature("a"))}):
        response = post_api(Client(), URL, body, viewer)
        assert response.status_code == 403, response.content
        assert response.json()["error"]["code"] == "permission_denied"
    prod = {"environment": "prod", "document": document(feature("a"))}
    assert post_api(Client(), URL, prod, editor).status_code == 403
    assert post_api(Client(), URL, prod, {}).status_code == 401
    assert not ImportJob.objects.exists()


# A fixed id: xdist workers must collect the same parameters.
@pytest.mark.parametrize("token", ["0b5e7c52-2f4e-4a4e-9d6b-1c8f3a9e7d10", "abc", "unleash%00"])
def test_it_answers_404_for_an_unknown_import(editor: dict[str, str], token: str) -> None:
    response = Client().get(f"/api/v1/imports/{token}", headers=editor)
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
    applied = post_api(Client(), f"/api/v1/imports/{token}/apply", {}, editor)
    assert applied.status_code == 404
