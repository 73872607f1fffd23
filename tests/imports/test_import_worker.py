"""A large import runs in a real Celery worker (a subprocess on the real broker and database),
and the page's status fragment shows its progress until it is done."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from flags.models import AuditEvent, FlagConfig
from imports.models import ImportJob
from tests.celery_worker import celery_worker
from tests.flags.builders import environments
from tests.flags.ui_support import HTMX, client_for
from tests.imports.support import (
    document,
    feature,
    post_api,
    post_document,
    send_to_test_broker,
    token_headers,
)

FLAGS = 250  # over the default inline limit (FLAGSITE_IMPORT_INLINE_MAX_FLAGS = 200)


@pytest.fixture
def worker(transactional_db: Any, tmp_path: Path) -> Any:
    with celery_worker(tmp_path) as proc:
        yield proc


def test_a_real_worker_imports_a_large_document_with_progress(
    worker: Any,
    editor_user: Any,
    monkeypatch: Any,
    settings: Any,
) -> None:
    assert settings.FLAGSITE_IMPORT_INLINE_MAX_FLAGS < FLAGS
    environments()
    send_to_test_broker(monkeypatch)
    client = client_for(editor_user)
    features = [feature(f"flag-{i:03d}", user_ids=f"user-{i}") for i in range(FLAGS)]
    assert post_document(client, document(*features)).status_code == 302
    job = ImportJob.objects.get()
    assert job.total == 2 * FLAGS

    # When it is applied, the web request only queues it
    response = client.post(f"/imports/{job.token}/apply/")
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.in_worker and job.status in ("queued", "running", "succeeded")

    # Then the status fragment the page polls shows the worker's progress, then the result
    seen: list[tuple[str, int]] = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert worker.poll() is None, "the worker died; see worker.log"
        fragment = client.get(f"/imports/{job.token}/", headers=HTMX).content.decode()
        status = re.search(r'data-status="(\w+)"', fragment)
        assert status is not None, fragment
        done = re.search(r'id="import-done">(\d+)<', fragment)
        seen.append((status.group(1), int(done.group(1)) if done else -1))
        if status.group(1) in ("succeeded", "failed"):
            break
        time.sleep(0.05)
    job.refresh_from_db()
    assert job.status == "succeeded", (job.errors, seen)
    partway = {done for status, done in seen if status == "running" and 0 < done < job.total}
    assert partway, f"no progress seen between 0 and {job.total}: {seen[:5]}...{seen[-5:]}"
    assert [done for _, done in seen if done >= 0] == sorted(d for _, d in seen if d >= 0)
    assert "hx-trigger" not in fragment and 'href="/flags/flag-249/?env=dev"' in fragment
    assert job.done == job.total and job.attempts == 1
    assert FlagConfig.objects.filter(environment__key="dev", enabled=True).count() == FLAGS
    assert AuditEvent.objects.filter(action="import.applied").count() == 1


def test_it_runs_an_import_applied_through_the_api_in_a_real_worker(
    worker: Any, editor_user: Any, monkeypatch: Any, settings: Any
) -> None:
    # Given an import planned by a CI script, over the inline limit
    settings.FLAGSITE_IMPORT_INLINE_MAX_FLAGS = 2
    environments()
    send_to_test_broker(monkeypatch)
    headers = token_headers(editor_user)
    features = [feature(f"api-{i}", user_ids=f"user-{i}") for i in range(5)]
    body = {"environment": "dev", "document": document(*features)}
    planned = post_api(Client(), "/api/v1/imports/unleash", body, headers)
    assert planned.status_code == 201, planned.content
    token = planned.json()["token"]

    # When it is applied, the API answers at once and the worker does the import
    applied = post_api(Client(), f"/api/v1/imports/{token}/apply", {"comment": "ci"}, headers)
    assert applied.status_code == 202 and applied.json()["in_worker"] is True

    # Then polling GET shows it finished
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert worker.poll() is None, "the worker died; see worker.log"
        data = Client().get(f"/api/v1/imports/{token}", headers=headers).json()
        if data["status"] in ("succeeded", "failed"):
            break
        time.sleep(0.05)
    assert data["status"] == "succeeded", data["errors"]
    assert data["done"] == data["total"] == 10 and data["result"]["flags"]["create"] == [
        f"api-{i}" for i in range(5)
    ]
    assert FlagConfig.objects.filter(environment__key="dev", enabled=True).count() == 5
