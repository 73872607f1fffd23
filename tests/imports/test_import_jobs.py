"""Large imports go to the worker: queued on commit, run once however often the task arrives,
and the page polls a status fragment until the job is finished."""

from __future__ import annotations

from typing import Any

import pytest

from flags.models import AuditEvent, Flag
from imports.jobs import import_job_run
from imports.models import ImportJob
from tests.flags.builders import environments
from tests.flags.ui_support import HTMX, client_for
from tests.imports.support import document, feature, post_document

pytestmark = pytest.mark.django_db


@pytest.fixture
def queued(db: Any, editor_user: Any, settings: Any, monkeypatch: Any) -> Any:
    """A job of 3 flags applied with the inline limit at 2: handed to the worker."""
    environments()
    settings.FLAGSITE_IMPORT_INLINE_MAX_FLAGS = 2
    sent: list[int] = []
    from imports import tasks

    monkeypatch.setattr(tasks.import_job_run_task, "delay", sent.append)
    client = client_for(editor_user)
    post_document(client, document(feature("a"), feature("b"), feature("c")))
    job = ImportJob.objects.get()
    return client, job, sent


def test_a_large_import_is_queued_for_the_worker_after_commit(
    queued: Any, django_capture_on_commit_callbacks: Any
) -> None:
    client, job, sent = queued
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/imports/{job.token}/apply/")
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.status == "queued" and job.in_worker and sent == [job.pk]
    assert not Flag.objects.exists()
    # The page polls its status fragment while the job waits or runs
    page = client.get(f"/imports/{job.token}/").content.decode()
    assert 'hx-trigger="every 1s"' in page and "Waiting for the worker" in page
    fragment = client.get(f"/imports/{job.token}/", headers=HTMX).content.decode()
    assert fragment.lstrip().startswith('<div id="import-status" data-status="queued"')
    assert "<html" not in fragment


def test_the_worker_function_runs_a_job_once(
    queued: Any, django_capture_on_commit_callbacks: Any
) -> None:
    client, job, _sent = queued
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/imports/{job.token}/apply/")
    import_job_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == "succeeded" and job.done == job.total == 6 and job.attempts == 1
    # Delivered again (acks_late after a lost ack): nothing happens twice
    import_job_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.attempts == 1
    assert AuditEvent.objects.filter(action="import.applied").count() == 1
    assert sorted(Flag.objects.values_list("key", flat=True)) == ["a", "b", "c"]
    # The finished fragment stops the polling and links the flags
    fragment = client.get(f"/imports/{job.token}/", headers=HTMX).content.decode()
    assert "hx-trigger" not in fragment and 'href="/flags/c/?env=dev"' in fragment


def test_a_job_whose_data_changed_before_the_worker_started_imports_nothing(
    queued: Any, django_capture_on_commit_callbacks: Any
) -> None:
    from flags.changes import Actor, flag_create
    from tests.flags.builders import BOOL_VARIANTS

    client, job, _sent = queued
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/imports/{job.token}/apply/")
    flag_create(key="b", name="b", kind="boolean", variants=BOOL_VARIANTS, actor=Actor(label="t"))
    import_job_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == "failed"
    assert "changed after this plan was approved" in job.errors[0][1]
    assert not Flag.objects.filter(key__in=["a", "c"]).exists()
    page = client.get(f"/imports/{job.token}/").content.decode()
    assert "Nothing was imported" in page


def test_an_unreachable_broker_fails_the_job_with_a_reason(
    queued: Any, django_capture_on_commit_callbacks: Any, monkeypatch: Any
) -> None:
    from imports import tasks

    client, job, _sent = queued

    def broker_down(job_id: int) -> None:
        raise ConnectionError("no broker")

    monkeypatch.setattr(tasks.import_job_run_task, "delay", broker_down)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/imports/{job.token}/apply/")
    job.refresh_from_db()
    assert job.status == "failed" and "could not be reached" in job.errors[0][1]
