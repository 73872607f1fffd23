"""Import from Unleash pages: bad input refused with a reason, the dry-run plan, apply once."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from flags.changes import Actor, flag_config_update
from flags.models import AuditEvent, Flag, FlagConfig, Version
from imports.models import ImportJob
from tests.flags.builders import bool_flag, environments
from tests.flags.ui_support import client_for
from tests.imports.support import document, feature, post_document, unsupported

pytestmark = pytest.mark.django_db


@pytest.fixture
def envs(db: Any) -> Any:
    return environments()


def _plan(client: Any, data: Any, environment: str = "dev") -> ImportJob:
    response = post_document(client, data, environment)
    assert response.status_code == 302, response.content.decode()[:2000]
    job = ImportJob.objects.get()
    assert response["Location"] == f"/imports/{job.token}/"
    return job


# --- input ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"features": [', "Not valid JSON: Expecting value (line 1, column 15)."),
        ("[1, 2]", "Expected a JSON object (Unleash&#x27;s GET /api/client/features answer), got"),
        ('{"toggles": []}', "Expected &#x27;features&#x27; to be a list"),
        ('{"features": {"a": 1}}', "found an object"),
        ('{"features": [], "segments": "x"}', "Expected &#x27;segments&#x27; to be a list"),
        ("[" * 100 + "]" * 100, "JSON nested deeper than 64 levels"),
        ('{"features": [{"name": "a\\ud800"}]}', "Text at features[0].name must be valid Unicode"),
        ('{"features": [{"name": "a\\u0000"}]}', "must not contain NUL characters"),
        ("   ", "Paste the Unleash JSON or choose a file."),
    ],
)
def test_it_refuses_bad_input_naming_the_problem(
    envs: Any, editor_user: Any, text: str, message: str
) -> None:
    response = post_document(client_for(editor_user), text)
    assert response.status_code == 400
    body = response.content.decode()
    assert message in body
    assert 'id="document-errors"' in body
    assert ImportJob.objects.count() == 0


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        # A UTF-8-encoded lone surrogate (which Python's json decodes with surrogatepass)
        (b'{"features": ["\xed\xa0\x80"]}', "Text at features[0] must be valid Unicode"),
        (b'{"features": ["\xff"]}', "the body is not UTF-8 text"),
    ],
)
def test_it_refuses_an_upload_that_is_not_utf8(
    envs: Any, editor_user: Any, raw: bytes, message: str
) -> None:
    upload = SimpleUploadedFile("unleash.json", raw)
    response = client_for(editor_user).post(
        "/imports/unleash/", {"environment": "dev", "document": "", "file": upload}
    )
    assert response.status_code == 400
    assert message in response.content.decode()
    assert 'id="file-errors"' in response.content.decode()


def test_it_refuses_a_file_over_the_limit(envs: Any, editor_user: Any, settings: Any) -> None:
    settings.FLAGSITE_IMPORT_MAX_BYTES = 1000
    upload = SimpleUploadedFile("big.json", json.dumps(document(feature("x" * 1000))).encode())
    response = client_for(editor_user).post(
        "/imports/unleash/", {"environment": "dev", "file": upload}
    )
    assert response.status_code == 413
    assert "big.json is 1," in response.content.decode()
    assert "the limit is 1,000 bytes" in response.content.decode()


def test_it_refuses_a_request_body_far_over_the_limit_before_reading_it(
    envs: Any, editor_user: Any, settings: Any
) -> None:
    settings.FLAGSITE_IMPORT_MAX_BYTES = 1000
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    upload = SimpleUploadedFile("huge.json", b"[" * 5000)
    response = client_for(editor_user).post("/imports/unleash/", {"file": upload})
    assert response.status_code == 413
    assert "The upload is 5," in response.content.decode()
    assert ImportJob.objects.count() == 0


def test_it_refuses_pasted_text_over_the_form_limit(
    envs: Any, editor_user: Any, settings: Any
) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2000
    response = post_document(client_for(editor_user), document(feature("y" * 3000)))
    assert response.status_code == 413
    assert "upload it as a file instead" in response.content.decode()


def test_an_uploaded_file_makes_a_plan(envs: Any, editor_user: Any) -> None:
    upload = SimpleUploadedFile("unleash.json", json.dumps(document(feature("a"))).encode())
    response = client_for(editor_user).post(
        "/imports/unleash/", {"environment": "dev", "file": upload}
    )
    assert response.status_code == 302
    job = ImportJob.objects.get()
    assert job.source_name == "unleash.json"
    assert [row["key"] for row in job.plan["flags"]] == ["a"]


def test_viewers_cannot_import_and_editors_cannot_plan_production(
    envs: Any, viewer_user: Any, editor_user: Any
) -> None:
    assert client_for(viewer_user).get("/imports/unleash/").status_code == 403
    assert post_document(client_for(viewer_user), document(feature("a"))).status_code == 403
    page = client_for(editor_user).get("/imports/unleash/").content.decode()
    assert '<option value="dev"' in page and '<option value="prod"' not in page
    assert post_document(client_for(editor_user), document(feature("a")), "prod").status_code == 403


# --- the plan -------------------------------------------------------------------------------


def test_the_plan_lists_creations_changes_with_diffs_and_every_warning(
    envs: Any, editor_user: Any
) -> None:
    # Given an existing flag "kept" that Unleash serves differently
    bool_flag("kept")
    data = document(feature("kept", user_ids="alice"), feature("fresh"), unsupported("custom-one"))
    client = client_for(editor_user)
    job = _plan(client, data)
    # Then nothing is written yet
    assert not Flag.objects.filter(key__in=["fresh", "custom-one"]).exists()
    assert FlagConfig.objects.get(flag__key="kept", environment__key="dev").rules == []
    # And the plan says what happens to each flag
    actions = {row["key"]: row["action"] for row in job.plan["flags"]}
    assert actions == {"kept": "change", "fresh": "create", "custom-one": "create"}
    kept = next(row for row in job.plan["flags"] if row["key"] == "kept")
    paths = {change["path"] for change in kept["config_diff"]}
    assert "enabled" in paths and any(p.startswith("rules") for p in paths)
    assert job.plan["warnings"] == [
        "custom-one: strategy 'myCustom' is not a built-in Unleash strategy and was left out"
    ]
    page = client.get(f"/imports/{job.token}/").content.decode()
    assert "<strong>2</strong> to create, <strong>1</strong> to change" in page
    assert "myCustom" in page and "What changes in kept" in page
    assert '<td class="ins"><pre>true</pre></td>' in page  # kept: enabled false -> true
    assert 'id="apply"' in page


def test_a_kind_that_cannot_change_blocks_the_plan(envs: Any, admin_user: Any) -> None:
    bool_flag("colour")
    data = document(
        feature("colour", variants=[{"name": "blue", "weight": 1000, "weightType": "variable"}])
    )
    client = client_for(admin_user)
    job = _plan(client, data)
    assert job.plan["blocking"] == [
        "colour: exists as a boolean flag, and Unleash's feature imports as a json flag "
        "(a flag's kind cannot change)"
    ]
    page = client.get(f"/imports/{job.token}/").content.decode()
    assert 'id="plan-blocking"' in page and 'id="apply"' not in page
    response = client.post(f"/imports/{job.token}/apply/")
    assert response.status_code == 400
    assert ImportJob.objects.get().status == "planned"


# --- apply ----------------------------------------------------------------------------------


def test_apply_imports_once_with_one_audit_entry(envs: Any, editor_user: Any) -> None:
    client = client_for(editor_user)
    job = _plan(client, document(feature("alpha", user_ids="alice,bob"), feature("beta")))
    events_before = AuditEvent.objects.count()
    response = client.post(f"/imports/{job.token}/apply/", {"comment": "moving off Unleash"})
    assert response.status_code == 302 and response["Location"] == f"/imports/{job.token}/"
    job.refresh_from_db()
    # 2 flags x 2 steps (definition, targeting)
    assert job.status == "succeeded" and job.done == job.total == 4
    assert job.result["flags"] == {"create": ["alpha", "beta"], "change": []}
    entry = AuditEvent.objects.get(action="import.applied")
    assert entry.object_key == str(job.token) and entry.comment == "moving off Unleash"
    assert entry.actor == editor_user
    assert entry.environment is not None and entry.environment.key == "dev"
    assert job.audit_event == entry
    # Flag versions went through flags.changes, each naming the import
    alpha = Version.objects.filter(flag__key="alpha", environment__key="dev").order_by("-number")[0]
    assert alpha.comment == f"moving off Unleash (Unleash import #{job.pk})"
    assert alpha.author == editor_user
    assert FlagConfig.objects.get(flag__key="alpha", environment__key="dev").enabled is True
    # The result page links each flag
    page = client.get(f"/imports/{job.token}/").content.decode()
    assert 'href="/flags/alpha/?env=dev"' in page and 'href="/flags/beta/?env=dev"' in page
    assert f'href="/audit/{entry.pk}/"' in page
    # A reload of the POST (or the back button and Apply again) applies nothing twice
    events_after = AuditEvent.objects.count()
    again = client.post(f"/imports/{job.token}/apply/", {"comment": "again"}, follow=True)
    assert "already applied; nothing was done again" in again.content.decode()
    assert AuditEvent.objects.count() == events_after > events_before
    assert AuditEvent.objects.filter(action="import.applied").count() == 1
    assert Flag.objects.filter(key="alpha").count() == 1


def test_the_audit_log_links_the_import(envs: Any, admin_user: Any) -> None:
    client = client_for(admin_user)
    job = _plan(client, document(feature("alpha")))
    client.post(f"/imports/{job.token}/apply/")
    page = client.get("/audit/").content.decode()
    assert f'href="/imports/{job.token}/"' in page


def test_data_changed_since_the_plan_is_replanned_not_applied(envs: Any, editor_user: Any) -> None:
    # Given a plan that changes an existing flag
    flag = bool_flag("kept")
    client = client_for(editor_user)
    job = _plan(client, document(feature("kept", user_ids="alice")))
    old_digest = job.plan_digest
    # When someone changes that flag before the import is applied
    dev = envs[0]
    flag_config_update(flag=flag, environment=dev, actor=Actor(label="someone"), enabled=True)
    response = client.post(f"/imports/{job.token}/apply/", follow=True)
    # Then nothing is imported, the person is told, and the plan shown is the new one
    assert "Flags or segments changed since this plan was made" in response.content.decode()
    job.refresh_from_db()
    assert job.status == "planned" and job.plan_digest != old_digest
    assert not AuditEvent.objects.filter(action="import.applied").exists()
    assert FlagConfig.objects.get(flag=flag, environment=dev).rules == []
    # And applying the new plan works
    client.post(f"/imports/{job.token}/apply/")
    job.refresh_from_db()
    assert job.status == "succeeded"


def test_production_needs_an_admin_and_a_comment(envs: Any, admin_user: Any) -> None:
    client = client_for(admin_user)
    job = _plan(client, document(feature("alpha")), environment="prod")
    assert job.plan["reaches_production"] is True
    response = client.post(f"/imports/{job.token}/apply/", {"comment": "  "})
    assert response.status_code == 400
    assert "Changes that reach production need a comment" in response.content.decode()
    assert ImportJob.objects.get().status == "planned" and not Flag.objects.exists()
    client.post(f"/imports/{job.token}/apply/", {"comment": "cut-over"})
    job.refresh_from_db()
    assert job.status == "succeeded"
    assert FlagConfig.objects.get(flag__key="alpha", environment__key="prod").enabled is True


def test_a_refusal_from_flags_changes_imports_nothing(envs: Any, editor_user: Any) -> None:
    # Given a plan that, once applied, changes the variants of a flag production serves
    # (an admin's change), applied by an editor
    from flags.changes import flag_create

    flag_create(
        key="colour",
        name="colour",
        kind="json",
        variants=[{"key": "off", "value": None}, {"key": "red", "value": {"name": "red"}}],
        actor=Actor(label="t"),
    )
    variants = [{"name": "blue", "weight": 1000, "weightType": "variable"}]
    client = client_for(editor_user)
    job = _plan(client, document(feature("colour", variants=variants), feature("other")))
    assert job.plan["reaches_production"] is True
    # Then the editor is refused before anything runs
    assert client.post(f"/imports/{job.token}/apply/", {"comment": "x"}).status_code == 403
    assert not Flag.objects.filter(key="other").exists()
    assert ImportJob.objects.get().status == "planned"


def test_viewers_read_a_plan_but_cannot_apply_it(
    envs: Any, editor_user: Any, viewer_user: Any
) -> None:
    job = _plan(client_for(editor_user), document(feature("alpha")))
    viewer = client_for(viewer_user)
    page = viewer.get(f"/imports/{job.token}/").content.decode()
    assert 'id="import-plan"' in page and 'id="apply"' not in page
    assert viewer.post(f"/imports/{job.token}/apply/").status_code == 403
    assert ImportJob.objects.get().status == "planned" and not Flag.objects.exists()


def test_segments_are_planned_created_then_changed_with_a_diff(envs: Any, editor_user: Any) -> None:
    from flags.models import Segment

    def beta(plans: list[str]) -> dict:
        constraint = {"contextName": "plan", "operator": "IN", "values": plans}
        return {"id": 7, "name": "beta testers", "constraints": [constraint]}

    using = feature("gated", strategies=[{"name": "default", "segments": [7]}])
    client = client_for(editor_user)
    job = _plan(client, document(using, segments=[beta(["pro"])]))
    assert job.plan["segments"] == [
        {"key": "unleash-segment-7", "name": "beta testers", "action": "create", "diff": []}
    ]
    client.post(f"/imports/{job.token}/apply/")
    assert Segment.objects.get(key="unleash-segment-7").clauses[0]["values"] == ["pro"]

    # The same export after the segment changed in Unleash: a change, with its diff
    response = post_document(client, document(using, segments=[beta(["pro", "team"])]))
    job = ImportJob.objects.get(token=response["Location"].split("/")[2])
    (row,) = job.plan["segments"]
    assert row["action"] == "change"
    assert row["diff"] == [
        {"path": "clauses[0].values", "before": ["pro"], "after": ["pro", "team"]}
    ]
    assert {r["action"] for r in job.plan["flags"]} == {"unchanged"}
    page = client.get(f"/imports/{job.token}/").content.decode()
    assert "unleash-segment-7</code> (beta testers): change" in page


def test_it_refuses_a_comment_the_database_cannot_store(envs: Any, editor_user: Any) -> None:
    client = client_for(editor_user)
    job = _plan(client, document(feature("a")))
    response = client.post(f"/imports/{job.token}/apply/", {"comment": "from CI\x00"})
    assert response.status_code == 400
    assert "must not contain NUL characters" in response.content.decode()
    job.refresh_from_db()
    assert job.status == "planned"
