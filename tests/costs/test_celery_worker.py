"""The budget job in two real Celery workers (subprocesses) against PostgreSQL and Redis: six
runs of the beat task, shared between the workers, alert each crossed threshold exactly once."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from tests.services import postgres_url, redis_url

ROOT = Path(__file__).resolve().parents[2]
RUNS = 6

pytestmark = pytest.mark.services


@pytest.fixture
def workers(transactional_db: Any, tmp_path: Path) -> Iterator[list[Path]]:
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
    procs, logs, files = [], [], []
    for name in ("w1", "w2"):
        log_path = tmp_path / f"{name}.log"
        log = open(log_path, "w")  # noqa: SIM115 - closed below
        procs.append(
            subprocess.Popen(
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
                    "-n",
                    f"{name}@%h",
                    "-Q",
                    "celery",
                ],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        )
        logs.append(log_path)
        files.append(log)
    yield logs
    for proc in procs:
        proc.terminate()
    for proc in procs:
        proc.wait(timeout=20)
    for log in files:
        log.close()


def test_two_real_workers_raise_each_budget_alert_once(workers: list[Path]) -> None:
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
        for _ in range(RUNS):
            budgets_check_run.apply_async(connection=conn)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and _runs_done(workers) < RUNS:
        time.sleep(0.3)
    assert _runs_done(workers) == RUNS, [p.read_text()[-2000:] for p in workers]
    # Then each threshold was alerted once, whichever worker ran which check
    assert sorted(BudgetCrossing.objects.values_list("threshold", flat=True)) == [
        "critical",
        "warning",
    ]
    alerts = Alert.objects.filter(source="budget")
    assert sorted(a.severity for a in alerts) == ["critical", "warning"]
    assert all(a.dedupe_key.startswith(f"budget:{budget.pk}:") for a in alerts)


def _runs_done(logs: list[Path]) -> int:
    """Budget-check runs the workers logged as finished."""
    done = 0
    for path in logs:
        for line in path.read_text().splitlines():
            if "costs.tasks.budgets_check_run[" in line and " succeeded in " in line:
                done += 1
    return done
