"""A real Celery worker (subprocess) delivers alerts through the real broker, including one that
was raised while the broker refused it and that beat's outbox job hands over later."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from tests.services import postgres_url, redis_url, unavailable

from .builders import budget_alert, channel_webhook
from .receivers import webhook_receiver

ROOT = Path(__file__).resolve().parents[2]
REAL_BROKER = True  # tests/alerts/conftest.py: do not replace apply_async here


@pytest.fixture
def worker(transactional_db: Any, tmp_path: Path, settings: Any) -> Any:
    postgres_url()
    redis_url()
    broker = settings.CELERY_BROKER_URL
    if not broker.startswith("redis"):
        unavailable(f"the worker test needs the Redis broker, not {broker}")
    db = connection.settings_dict
    db_url = (
        f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST'] or '127.0.0.1'}"
        f":{db['PORT'] or 5432}/{db['NAME']}"
    )
    env = os.environ | {
        "DATABASE_URL": db_url,
        "CELERY_BROKER_URL": broker,
        "FLAGSITE_VAR_DIR": str(tmp_path),
        "FLAGSITE_ALERTS_WEBHOOK_ALLOW_PRIVATE": "true",  # the receiver is on loopback
    }
    log = open(tmp_path / "worker.log", "w")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "flagsite", "worker", "--pool=solo",
         "--loglevel=info", "--without-heartbeat", "--without-gossip", "--without-mingle"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    yield proc
    proc.terminate()
    proc.wait(timeout=20)
    log.close()


def _wait_for(condition: Any, worker: Any, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not condition():
        assert worker.poll() is None, "the worker died; see worker.log"
        time.sleep(0.2)


def test_a_real_worker_delivers_alerts_and_the_outbox_after_a_broker_outage(
    worker: Any, monkeypatch: Any
) -> None:
    from alerts import tasks
    from alerts.models import Delivery

    from .receivers import broker_down

    with webhook_receiver() as receiver:
        channel = channel_webhook(receiver.url)
        receiver.secret = channel.secret
        # Given an alert raised (and committed) while the broker is unreachable
        with broker_down(monkeypatch):
            during_outage = budget_alert(dedupe_key="during-outage")
        assert Delivery.objects.get(alert=during_outage).status == "pending"
        # When another alert is raised with the broker back, the worker delivers it at once
        budget_alert(dedupe_key="after-outage")
        _wait_for(lambda: len(receiver.requests) >= 1, worker)
        assert Delivery.objects.get(alert=during_outage).status == "pending"
        # And when beat's minute job runs, the one kept in the outbox is delivered too
        tasks.outbox_dispatch.apply_async()
        _wait_for(lambda: len(receiver.requests) >= 2, worker)
        _wait_for(
            lambda: not Delivery.objects.exclude(status="delivered").exists(), worker, seconds=20
        )
    assert [r["json"]["data"]["dedupe_key"] for r in receiver.requests] == [
        "after-outage",
        "during-outage",
    ]
    assert all(r["verified"] for r in receiver.requests)
    assert set(Delivery.objects.values_list("status", "attempts")) == {("delivered", 1)}


def test_a_real_worker_sends_the_digest_of_alerts_held_an_hour_ago(
    worker: Any, monkeypatch: Any, settings: Any
) -> None:
    from datetime import timedelta

    from alerts import tasks
    from alerts.models import Delivery, Digest
    from alerts.outbox import delivery_attempt
    from flagsite import clock

    from .receivers import broker_down

    settings.FLAGSITE_ALERTS_CHANNEL_MAX_PER_HOUR = 1
    with webhook_receiver() as receiver:
        channel = channel_webhook(receiver.url)
        receiver.secret = channel.secret
        # Given two alerts an hour ago, the second held by the channel's limit of 1
        with clock.freeze(clock.now() - timedelta(hours=1)), broker_down(monkeypatch):
            first, second = (budget_alert(dedupe_key=f"storm:{i}") for i in range(2))
            ids = Delivery.objects.order_by("id").values_list("id", flat=True)
            assert [delivery_attempt(delivery_id=pk) for pk in ids] == ["delivered", "held"]
        # When beat's minute job runs on the worker, it writes the digest and sends it
        tasks.outbox_dispatch.apply_async()
        _wait_for(lambda: len(receiver.requests) >= 2, worker)
        _wait_for(lambda: Digest.objects.filter(status="delivered").exists(), worker, seconds=20)
    digest = receiver.requests[-1]["json"]
    assert digest["type"] == "alert.digest" and receiver.requests[-1]["verified"]
    assert [a["id"] for a in digest["data"]["alerts"]] == [second.pk]
    assert Delivery.objects.get(alert=second).status == "delivered"
    assert Delivery.objects.get(alert=first).digest_id is None
