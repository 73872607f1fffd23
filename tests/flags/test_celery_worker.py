"""A real Celery worker (subprocess) runs flag tasks against the real database and cache."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.services import redis_url
from tests.workers import Worker, celery_workers


@pytest.fixture
def worker(transactional_db: Any, tmp_path: Path) -> Iterator[Worker]:
    with celery_workers(tmp_path) as [one]:
        yield one


def test_a_real_worker_republishes_rulesets(worker: Worker, demo: Any, settings: Any) -> None:
    from django.core.cache import caches

    from flags.tasks import republish_all_rulesets

    # Given an empty shared cache (as after a Redis restart)
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": redis_url(),
            "KEY_PREFIX": "flagsite",
        }
    }
    cache = caches.create_connection("default")
    cache.delete("ruleset:version:development")
    # When the beat task is sent through the broker the worker listens on
    from flagsite.celery import app

    with app.connection_for_write(url=redis_url()) as conn:
        # What Celery does with `connection=conn`, which apply_async's types lack
        producer = app.amqp.Producer(conn, auto_declare=False)
        republish_all_rulesets.apply_async(producer=producer)
    # Then the worker rebuilds every environment's ruleset from PostgreSQL into Redis
    deadline = time.monotonic() + 45
    while time.monotonic() < deadline and cache.get("ruleset:version:development") is None:
        assert worker.alive(), "the worker died; see worker.log"
        time.sleep(0.2)
    assert cache.get("ruleset:version:development") is not None
    version, body = cache.get("ruleset:body:production")
    assert b'"llm-model"' in body and version >= 1
