"""The budget job in two real Celery workers (subprocesses) against PostgreSQL and Redis: six
runs of the beat task, shared between the workers, alert each crossed threshold exactly once."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from tests.services import redis_url
from tests.workers import Worker, celery_workers

RUNS = 6

pytestmark = pytest.mark.services


@pytest.fixture
def workers(transactional_db: Any, tmp_path: Path) -> Iterator[list[Worker]]:
    with celery_workers(tmp_path, ("w1", "w2")) as both:
        yield both


def test_two_real_workers_raise_each_budget_alert_once(workers: list[Worker]) -> None:
    from alerts.models import Alert
    from costs.models import Budget, BudgetCrossing
    from costs.tasks import budgets_check_run
    from flags.models import Environment
    from flagsite.celery import app

    from .traffic import call, store

    # Given a $100 monthly budget and $100 spent a minute ago (80 % and 100 % crossed)
    env = Environment.objects.create(key="production", name="Production")
    budget = Budget.objects.create(name="All", amount_usd=Decimal(100), forecast=False)
    store([call(env, timezone.now() - timedelta(minutes=1), "100")])
    # When beat's task is sent six times through the broker both workers listen on
    with app.connection_for_write(url=redis_url()) as conn:
        # What Celery does with `connection=conn`, which apply_async's types lack
        producer = app.amqp.Producer(conn, auto_declare=False)
        for _ in range(RUNS):
            budgets_check_run.apply_async(producer=producer)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and _runs_done(workers) < RUNS:
        assert all(w.alive() for w in workers), "a worker died; see w1.log / w2.log"
        time.sleep(0.3)
    assert _runs_done(workers) == RUNS, [w.log.read_text()[-2000:] for w in workers]
    # Then each threshold was alerted once, whichever worker ran which check
    assert sorted(BudgetCrossing.objects.values_list("threshold", flat=True)) == [
        "critical",
        "warning",
    ]
    alerts = Alert.objects.filter(source="budget")
    assert sorted(a.severity for a in alerts) == ["critical", "warning"]
    assert all(a.dedupe_key.startswith(f"budget:{budget.pk}:") for a in alerts)


def _runs_done(workers: list[Worker]) -> int:
    """Budget-check runs the workers logged as finished."""
    done = 0
    for worker in workers:
        for line in worker.log.read_text().splitlines():
            if "costs.tasks.budgets_check_run[" in line and " succeeded in " in line:
                done += 1
    return done
