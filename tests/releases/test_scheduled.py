"""Scheduled changes: applied when due through flags.changes, cancellable, applied once."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from flags.models import AuditEvent, FlagConfig
from flags.validation import ConfigError
from flagsite import clock
from releases.models import ScheduledStatus
from releases.scheduled import (
    scheduled_change_cancel,
    scheduled_change_create,
    scheduled_changes_apply,
)
from tests.flags.builders import environments
from tests.flags.ui_support import client_for

from .builders import model_flag

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def prod(db: Any) -> Any:
    return environments()[1]


def test_a_change_is_applied_when_due_and_only_once(prod: Any, actor: Any) -> None:
    flag = model_flag(environment=prod)
    with clock.freeze(T0):
        change = scheduled_change_create(
            flag=flag,
            environment=prod,
            changes={"default": {"variant": "new"}},
            run_at=T0 + timedelta(hours=8),
            actor=actor,
            comment="switch at 17:00",
        )
        assert scheduled_changes_apply() == {}
        clock.advance(timedelta(hours=8))
        assert scheduled_changes_apply() == {change.pk: "applied"}
        assert scheduled_changes_apply() == {}
    assert FlagConfig.objects.get(flag=flag, environment=prod).default == {"variant": "new"}
    event = AuditEvent.objects.get(action="flag.scheduled_change_applied")
    assert event.actor == actor.user and event.actor_label == "scheduled change"
    assert event.comment == "switch at 17:00"


def test_a_cancelled_change_is_never_applied(prod: Any, actor: Any) -> None:
    flag = model_flag(environment=prod)
    with clock.freeze(T0):
        change = scheduled_change_create(
            flag=flag,
            environment=prod,
            changes={"enabled": False},
            run_at=T0 + timedelta(minutes=5),
            actor=actor,
            comment="maintenance",
        )
        scheduled_change_cancel(change=change, actor=actor, comment="not needed")
        clock.advance(timedelta(hours=1))
        assert scheduled_changes_apply() == {}
    assert FlagConfig.objects.get(flag=flag, environment=prod).enabled is True


def test_an_invalid_change_fails_with_the_reason(prod: Any, actor: Any) -> None:
    flag = model_flag(environment=prod)
    with clock.freeze(T0):
        change = scheduled_change_create(
            flag=flag,
            environment=prod,
            changes={"default": {"variant": "missing"}},
            run_at=T0 + timedelta(minutes=1),
            actor=actor,
            comment="typo",
        )
        clock.advance(timedelta(minutes=1))
        assert scheduled_changes_apply() == {change.pk: "failed"}
    change.refresh_from_db()
    assert change.status == ScheduledStatus.FAILED and "missing" in change.result


def test_scheduling_refuses_the_past_and_unknown_fields(prod: Any, actor: Any) -> None:
    flag = model_flag(environment=prod)
    with pytest.raises(ConfigError) as exc:
        scheduled_change_create(
            flag=flag,
            environment=prod,
            changes={"colour": "blue"},
            run_at=clock.now() - timedelta(minutes=1),
            actor=actor,
            comment="x",
        )
    assert {p for p, _ in exc.value.errors} == {"changes.colour", "run_at"}


def test_the_api_schedules_and_the_page_shows_and_cancels(admin_user: Any) -> None:
    prod = environments()[1]
    flag = model_flag(environment=prod)
    client = client_for(admin_user)
    run_at = (clock.now() + timedelta(days=1)).isoformat()
    r = client.post(
        f"/api/v1/flags/{flag.key}/environments/prod/scheduled-changes",
        json.dumps({"changes": {"enabled": False}, "run_at": run_at, "comment": "night"}),
        content_type="application/json",
    )
    assert r.status_code == 201, r.content
    page = client.get(f"/flags/{flag.key}/rollouts/").content.decode()
    assert "scheduled-pending" in page and "{&#x27;enabled&#x27;: False}" in page
    client.post(f"/scheduled-changes/{r.json()['id']}/cancel/", {"comment": "no"})
    page = client.get(f"/flags/{flag.key}/rollouts/").content.decode()
    assert "scheduled-cancelled" in page
