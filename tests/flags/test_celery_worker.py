"""A real Celery worker (subprocess) runs flag tasks against the real database and cache."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from tests.celery_worker import celery_worker
from tests.services import redis_url


@pytest.fixture
def worker(transactional_db: Any, tmp_path: Path) -> Any:
    with celery_worker(tmp_path) as proc:
        yield proc


def test_a_real_worker_republishes_rulesets(worker: Any, demo: Any, settings: Any) -> None:
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
        republish_all_rulesets.apply_async(connection=conn)
    # Then the worker rebuilds every environment's ruleset from PostgreSQL into Redis
    deadline = time.monotonic() + 45
    while time.monotonic() < deadline and cache.get("ruleset:version:development") is None:
        assert worker.poll() is None, "the worker died; see worker.log"
        time.sleep(0.2)
    assert cache.get("ruleset:version:development") is not None
    version, body = cache.get("ruleset:body:production")
    assert b'"llm-model"' in body and version >= 1
