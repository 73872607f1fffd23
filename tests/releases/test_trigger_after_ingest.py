"""Events for an environment with an active rollout queue one debounced check on the rollouts
queue; environments without one pay nothing."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.cache import cache

from feedback.ingest import events_ingest
from releases import tasks, triggers
from tests.flags.builders import environments

from .builders import model_flag, started_plan


@pytest.fixture
def queued(monkeypatch: Any) -> list[tuple[Any, ...]]:
    sent: list[tuple[Any, ...]] = []
    monkeypatch.setattr(
        tasks.rollouts_check_environment,
        "apply_async",
        lambda args, countdown: sent.append((*args, countdown)),
    )
    triggers._active.clear()
    cache.clear()
    return sent


def _call(event_id: str) -> dict[str, Any]:
    return {
        "id": event_id,
        "type": "llm_call",
        "model": "gpt",
        "error": True,
        "flags": {"llm-model": "new"},
    }


def test_ingesting_events_under_rollout_queues_one_check(
    db: Any, actor: Any, queued: Any, django_capture_on_commit_callbacks: Any
) -> None:
    prod = environments()[1]
    started_plan(model_flag(environment=prod), prod, actor)
    with django_capture_on_commit_callbacks(execute=True):
        events_ingest(environment_id=prod.id, events=[_call("a")])
        events_ingest(environment_id=prod.id, events=[_call("b")])
    assert queued == [(prod.id, 1)]


def test_no_check_without_an_active_plan(
    db: Any, queued: Any, django_capture_on_commit_callbacks: Any
) -> None:
    prod = environments()[1]
    with django_capture_on_commit_callbacks(execute=True):
        events_ingest(environment_id=prod.id, events=[_call("a")])
    assert queued == []


def test_the_tasks_run_on_their_own_queue_and_ack_late(settings: Any) -> None:
    from flagsite.celery import app

    route = app.amqp.router.route({}, "releases.tasks.rollouts_check_environment")
    assert route["queue"].name == "rollouts"
    assert tasks.rollouts_check_all.acks_late and tasks.rollouts_check_all.reject_on_worker_lost
    assert settings.CELERY_BEAT_SCHEDULE["rollouts-check"]["schedule"] == 60.0


def test_a_dead_cache_never_fails_ingestion(
    db: Any, actor: Any, queued: Any, monkeypatch: Any
) -> None:
    prod = environments()[1]
    started_plan(model_flag(environment=prod), prod, actor)

    def down(*args: Any, **kwargs: Any) -> bool:
        raise ConnectionError("redis is down")

    monkeypatch.setattr(cache, "add", down)
    assert events_ingest(environment_id=prod.id, events=[_call("a")]).accepted == 1
    assert queued == []
