"""The retention job: raw events older than the configured age go; ids stay >= 7 days."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from feedback.ingest import events_ingest
from feedback.models import Exposure, Feedback, ImplicitSignal, LlmCall
from feedback.retention import MIN_RETENTION, events_delete_expired
from feedback.tasks import events_retention_run

from .conftest import Keys, exposure, implicit, llm_call

pytestmark = pytest.mark.django_db


def _ingest(keys: Keys, events: list, *, days_ago: float) -> None:
    now = timezone.now() - timedelta(days=days_ago)
    result = events_ingest(environment_id=keys.environment.pk, events=events, now=now)
    assert result.accepted == len(events)


def test_it_deletes_raw_events_older_than_the_configured_age(keys: Keys) -> None:
    _ingest(keys, [exposure("e-old"), llm_call("c-old"), implicit("i-old")], days_ago=40)
    _ingest(keys, [exposure("e-new"), llm_call("c-new"), implicit("i-new")], days_ago=20)
    Feedback.objects.create(
        environment=keys.environment,
        event_id="fb-old",
        type="thumbs_up",
        timestamp=timezone.now() - timedelta(days=400),
        received_at=timezone.now(),
    )
    deleted = events_delete_expired(days=30, chunk=1)
    assert deleted == {"exposure": 1, "llmcall": 1, "implicitsignal": 1}
    assert list(Exposure.objects.values_list("event_id", flat=True)) == ["e-new"]
    assert list(LlmCall.objects.values_list("event_id", flat=True)) == ["c-new"]
    assert list(ImplicitSignal.objects.values_list("event_id", flat=True)) == ["i-new"]
    # Explicit feedback is triaged by people and kept.
    assert Feedback.objects.filter(event_id="fb-old").exists()


def test_it_never_forgets_ids_younger_than_the_idempotency_window(keys: Keys) -> None:
    # Received 6 days ago with a timestamp almost 7 days before that: 13 days of event time.
    received = timezone.now() - timedelta(days=6)
    events = [exposure("e-1", timestamp=(received - timedelta(days=6, hours=23)).isoformat())]
    ingest = events_ingest(environment_id=keys.environment.pk, events=events, now=received)
    assert ingest.accepted == 1
    # Even a (mis)configured 1-day retention keeps 14 days of event time.
    assert timedelta(days=14) == MIN_RETENTION
    assert events_delete_expired(days=1)["exposure"] == 0
    assert Exposure.objects.count() == 1
    # A retry of that id (sent soon after the first attempt) is still recognised.
    retry = events_ingest(
        environment_id=keys.environment.pk, events=events, now=received + timedelta(minutes=30)
    )
    assert (retry.accepted, retry.duplicates) == (0, 1)


@override_settings(FEEDBACK_RETENTION_DAYS=15)
def test_the_beat_task_uses_the_setting(keys: Keys) -> None:
    _ingest(keys, [llm_call("c-16")], days_ago=16)
    _ingest(keys, [llm_call("c-14")], days_ago=14)
    assert events_retention_run() == {
        "exposure": 0,
        "llmcall": 1,
        "implicitsignal": 0,
        "evaluationcount": 0,
    }
    assert list(LlmCall.objects.values_list("event_id", flat=True)) == ["c-14"]


def test_the_task_is_on_the_beat_schedule() -> None:
    from django.conf import settings

    tasks = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert "feedback.tasks.events_retention_run" in tasks
