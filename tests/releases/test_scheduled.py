"""Scheduled changes: applied when due through flags.changes, cancellable, applied once."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from flags.changes import Actor, flag_update
from flags.models import AuditEvent, FlagConfig
from flags.validation import ConfigError
from flagsite import clock
from releases.models import ScheduledChange, ScheduledStatus
from releases.scheduled import (
    MAX_AHEAD,
    scheduled_change_cancel,
    scheduled_change_create,
    scheduled_changes_apply,
)
from tests.flags.builders import environments
from tests.flags.ui_support import client_for

from .builders import MODEL_VARIANTS, model_flag

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


def test_a_change_the_configuration_no_longer_accepts_fails_with_the_reason(
    prod: Any, actor: Any
) -> None:
    flag = model_flag(environment=prod)
    newer = {"key": "newer", "value": "gpt-6"}
    flag_update(
        flag=flag, actor=Actor(label="test"), variants=[*MODEL_VARIANTS, newer], comment="add"
    )
    flag.refresh_from_db()
    with clock.freeze(T0):
        change = scheduled_change_create(
            flag=flag,
            environment=prod,
            changes={"default": {"variant": "newer"}},
            run_at=T0 + timedelta(minutes=1),
            actor=actor,
            comment="switch",
        )
        # Meanwhile the variant it serves is removed from the flag
        flag_update(flag=flag, actor=Actor(label="test"), variants=MODEL_VARIANTS, comment="drop")
        clock.advance(timedelta(minutes=1))
        assert scheduled_changes_apply() == {change.pk: "failed"}
    change.refresh_from_db()
    assert change.status == ScheduledStatus.FAILED and '"newer"' in change.result


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


def test_scheduling_refuses_unknown_variants_and_more_than_a_year_ahead(
    prod: Any, actor: Any
) -> None:
    flag = model_flag(environment=prod)
    with clock.freeze(T0), pytest.raises(ConfigError) as exc:
        scheduled_change_create(
            flag=flag,
            environment=prod,
            changes={"default": {"variant": "gpt-9"}, "off_variant": "x"},
            run_at=T0 + MAX_AHEAD + timedelta(minutes=1),
            actor=actor,
            comment="x",
        )
    assert exc.value.errors == [
        ("run_at", "Must be at most 365 days ahead."),
        ("changes.off_variant", "'x' is not a variant of this flag."),
        ("changes.default.variant", "'gpt-9' is not a variant of this flag."),
    ]


def test_the_api_refuses_an_unknown_variant(admin_user: Any) -> None:
    prod = environments()[1]
    flag = model_flag(environment=prod)
    run_at = (clock.now() + timedelta(days=1)).isoformat()
    r = client_for(admin_user).post(
        f"/api/v1/flags/{flag.key}/environments/prod/scheduled-changes",
        json.dumps(
            {"changes": {"default": {"variant": "gpt-9"}}, "run_at": run_at, "comment": "x"}
        ),
        content_type="application/json",
    )
    assert r.status_code == 400 and "is not a variant of this flag" in r.text
    assert not ScheduledChange.objects.exists()


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
    assert "scheduled-pending" in page and ">turn off</td>" in page
    client.post(f"/scheduled-changes/{r.json()['id']}/cancel/", {"comment": "no"})
    page = client.get(f"/flags/{flag.key}/rollouts/").content.decode()
    assert "scheduled-cancelled" in page
