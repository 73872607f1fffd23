"""Two workers (or two beats by mistake) checking at the same moment: no double rollback, no
lost advance, no skipped phase. Real concurrent transactions need PostgreSQL."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import connection

from alerts.models import Alert
from flags.models import AuditEvent
from flagsite import clock
from releases.checks import rollouts_check
from releases.models import PlanEvent
from tests.flags.builders import environments
from tests.services import postgres_url

from .builders import calls, model_flag, started_plan

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _race(n: int = 2) -> list[dict[int, str]]:
    barrier = threading.Barrier(n)
    results: list[dict[int, str]] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            barrier.wait()
            results.append(rollouts_check())
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    return results


@pytest.fixture
def prod(transactional_db: Any) -> Any:
    postgres_url()
    return environments()[1]


def test_two_checkers_roll_back_once(prod: Any, actor: Any) -> None:
    with clock.freeze(T0):
        flag = model_flag(environment=prod)
        plan = started_plan(flag, prod, actor)
        calls(prod, variant="new", n=60, errors=60)
        for _ in range(5):
            _race()
    assert AuditEvent.objects.filter(action="flag.rollout_rolled_back").count() == 1
    assert PlanEvent.objects.filter(plan=plan, kind="rolled_back").count() == 1
    assert Alert.objects.filter(source="rollout").count() == 1


def test_two_checkers_advance_once_per_phase(prod: Any, actor: Any) -> None:
    with clock.freeze(T0):
        flag = model_flag(environment=prod)
        plan = started_plan(flag, prod, actor)
        for hours in (24, 24, 48, 24, 0):
            clock.advance(timedelta(hours=hours))
            outcomes = [o[plan.pk] for o in _race()]
            assert outcomes.count("advanced") == 1, outcomes
    phases = list(
        PlanEvent.objects.filter(plan=plan, kind="advanced").values_list("details", flat=True)
    )
    assert [p["phase"] for p in phases] == [1, 2, 3, 4]
    assert PlanEvent.objects.filter(plan=plan, kind="completed").count() == 1
