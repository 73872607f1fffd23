"""Concurrent retries of the same batch on PostgreSQL: stored once, and the answers add up
(exactly one request reports each event as accepted, the others as duplicates)."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connection

from feedback.ingest import IngestResult, events_ingest
from feedback.models import LlmCall
from tests.services import postgres_url

from .conftest import keys_create, llm_call

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

THREADS = 6
EVENTS = 300


def test_concurrent_retries_store_each_event_once() -> None:
    postgres_url()
    assert connection.vendor == "postgresql"
    keys = keys_create()
    # Overlapping batches: every thread sends the same 300 ids, in a different order.
    batches = [
        [llm_call(f"c-{(i + shift * 37) % EVENTS}") for i in range(EVENTS)]
        for shift in range(THREADS)
    ]
    barrier = threading.Barrier(THREADS)
    results: list[IngestResult] = []
    errors: list[BaseException] = []

    def send(batch: list[dict[str, Any]]) -> None:
        try:
            barrier.wait(timeout=30)
            results.append(events_ingest(environment_id=keys.environment.pk, events=batch))
        except BaseException as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=send, args=(b,)) for b in batches]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    assert LlmCall.objects.count() == EVENTS
    assert sum(r.accepted for r in results) == EVENTS
    assert sum(r.duplicates for r in results) == EVENTS * (THREADS - 1)
