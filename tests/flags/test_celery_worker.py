"""A real Celery worker (subprocess) runs flag tasks against the real database and cache."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from tests.services import postgres_url, redis_url

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def worker(transactional_db: Any, tmp_path: Path) -> Any:
    postgres_url()
    redis = redis_url()
    settings = connection.settings_dict
    db_url = (
        f"postgres://{settings['USER']}:{settings['PASSWORD']}@{settings['HOST'] or '127.0.0.1'}"
        f":{settings['PORT'] or 5432}/{settings['NAME']}"
    )
    env = os.environ | {
        "DATABASE_URL": db_url,
        "REDIS_URL": redis,
        "CELERY_BROKER_URL": redis,
        "FLAGSITE_VAR_DIR": str(tmp_path),
    }
    log = open(tmp_path / "worker.log", "w")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "flagsite",
            "worker",
            "--pool=solo",
            "--loglevel=info",
            "--without-heartbeat",
            "--without-gossip",
            "--without-mingle",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    yield proc
    proc.terminate()
    proc.wait(timeout=20)
    log.close()


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
