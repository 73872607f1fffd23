"""Each pytest-xdist worker has its own Redis database, var dir and database names
(tests/xdist_worker.py); run serially, the settings are the environment's."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connection

from tests import xdist_worker
from tests.xdist_worker import STARTED_WITH, postgres_worker_url, redis_worker_url, worker_id


def test_the_settings_use_this_worker_s_redis_database_and_var_dir(db: Any) -> None:
    if STARTED_WITH["REDIS_URL"]:
        broker = STARTED_WITH["CELERY_BROKER_URL"] or STARTED_WITH["REDIS_URL"]
        assert settings.CACHES["default"]["LOCATION"] == redis_worker_url(STARTED_WITH["REDIS_URL"])
        broker_url = settings.CELERY_BROKER_URL
        assert broker_url == redis_worker_url(broker)
    if worker_id():
        assert Path(settings.VAR_DIR).name == worker_id()
        if connection.vendor == "postgresql":
            assert connection.settings_dict["NAME"].endswith("_" + worker_id())


def test_a_worker_s_redis_database_is_the_base_plus_its_index(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PYTEST_XDIST_WORKER", "gw2")
    assert redis_worker_url("redis://127.0.0.1:6379/10") == "redis://127.0.0.1:6379/12"
    assert (
        redis_worker_url("redis://:pw@redis.internal:6380") == "redis://:pw@redis.internal:6380/2"
    )
    assert redis_worker_url("filesystem://") == "filesystem://"
    monkeypatch.setenv("PYTEST_XDIST_WORKER", "gw0")
    assert redis_worker_url("redis://127.0.0.1:6379/10") == "redis://127.0.0.1:6379/10"
    monkeypatch.delenv("PYTEST_XDIST_WORKER")
    assert redis_worker_url("redis://127.0.0.1:6379/10") == "redis://127.0.0.1:6379/10"


def test_a_worker_past_redis_s_last_database_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTEST_XDIST_WORKER", "gw6")
    with pytest.raises(RuntimeError, match="needs Redis database 16"):
        redis_worker_url("redis://127.0.0.1:6379/10")
    assert xdist_worker.REDIS_DATABASES == 16


def test_the_databases_a_worker_s_tests_create_carry_its_name(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = "postgres://postgres@127.0.0.1:5432/flagsite"
    monkeypatch.setenv("PYTEST_XDIST_WORKER", "gw1")
    assert postgres_worker_url(url) == "postgres://postgres@127.0.0.1:5432/flagsite_gw1"
    monkeypatch.delenv("PYTEST_XDIST_WORKER")
    assert postgres_worker_url(url) == url
