"""Rollout plans: each step is a flag version with an audit row; the plan owns its rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from flags.changes import Actor, flag_config_update, flag_toggle
from flags.models import AuditEvent, FlagConfig, Version
from flags.validation import ConfigError
from flagsite import clock
from releases.models import PlanStatus
from releases.plans import (
    PlanConflict,
    plan_advance,
    plan_create,
    plan_pause,
    plan_resume,
    plan_rollback,
    plan_start,
)
from releases.templates_builtin import PhaseSpec
from tests.flags.builders import environments, segment

from .builders import model_flag, served, started_plan

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def prod(db: Any) -> Any:
    return environments()[1]


def _rules(flag: Any, env: Any) -> list[dict[str, Any]]:
    return FlagConfig.objects.get(flag=flag, environment=env).rules


def test_it_starts_a_canary_as_a_flag_version_with_an_audit_row(prod: Any, actor: Any) -> None:
    flag = model_flag(environment=prod)
    plan = started_plan(flag, prod, actor)
    assert plan.status == PlanStatus.RUNNING and plan.current_phase == 0
    [rule] = _rules(flag, prod)
    assert rule["id"] == f"rollout-{plan.pk}-percent"
    assert rule["rollout"] == {"percentage": 1, "bucket_by": "key"}
    assert rule["serve"] == {"variant": "new"}
    event = AuditEvent.objects.filter(action="flag.rollout_started").get()
    assert event.actor == actor.user and event.comment == "start the canary"
    assert event.version is not None and event.version.subject == Version.Subject.CONFIG


def test_raising_the_percentage_only_adds_units(prod: Any, actor: Any) -> None:
    flag = model_flag(environment=prod)
    plan = started_plan(flag, prod, actor)
    before = served(prod, flag.key, range(3000))
    plan_advance(plan=plan, actor=actor, comment="widen")
    after = served(prod, flag.key, range(3000))
    on_before = {k for k, v in before.items() if v == "new"}
    on_after = {k for k, v in after.items() if v == "new"}
    assert on_before and on_before < on_after
    assert 60 < len(on_after) < 240  # about 5 % of 3000


def test_roll_back_removes_only_what_the_plan_changed(prod: Any, actor: Any) -> None:
    flag = model_flag(environment=prod)
    plan = started_plan(flag, prod, actor)
    # Meanwhile a person adds a targeting rule and pulls the kill switch.
    vip = {"id": "vip", "name": "vip", "clauses": [], "serve": {"variant": "old"}}
    flag_config_update(
        flag=flag,
        environment=prod,
        actor=actor,
        comment="vip first",
        rules=[vip, *_rules(flag, prod)],
    )
    flag_toggle(flag=flag, environment=prod, enabled=False, actor=actor, comment="kill switch")
    plan_rollback(plan=plan, actor=actor, comment="looks bad")
    config = FlagConfig.objects.get(flag=flag, environment=prod)
    assert config.rules == [vip] and config.enabled is False
    assert AuditEvent.objects.filter(action="flag.rollout_rolled_back").count() == 1


def test_a_person_needs_a_comment_in_production(prod: Any, actor: Any) -> None:
    flag = model_flag(environment=prod)
    plan = started_plan(flag, prod, actor)
    with pytest.raises(ConfigError) as exc:
        plan_rollback(plan=plan, actor=actor, comment="")
    assert exc.value.errors[0][0] == "comment"


def test_feature_rollout_audiences_add_up_and_complete_makes_the_default(
    prod: Any, actor: Any
) -> None:
    segment("internal-users", included=["alice"])
    segment("paid-tier", included=["payer"])
    flag = model_flag(environment=prod)
    plan = started_plan(flag, prod, actor, template="feature_rollout")
    rule_ids = [r["id"] for r in _rules(flag, prod)]
    assert rule_ids == [f"rollout-{plan.pk}-segments"]
    for _ in range(3):  # 5 %, paid tier, all users
        plan = plan_advance(plan=plan, actor=actor, comment="next")
    seg, pct = _rules(flag, prod)
    assert seg["clauses"][0]["values"] == ["internal-users", "paid-tier"]
    assert pct["rollout"]["percentage"] == 100
    plan = plan_advance(plan=plan, actor=actor, comment="complete")
    assert plan.status == PlanStatus.COMPLETED
    config = FlagConfig.objects.get(flag=flag, environment=prod)
    assert config.rules == [] and config.default == {"variant": "new"}
    flag.refresh_from_db()
    assert "ready-to-remove" in flag.tags


def test_pause_stops_the_phase_clock(prod: Any, actor: Any) -> None:
    flag = model_flag(environment=prod)
    with clock.freeze(T0):
        plan = started_plan(flag, prod, actor)
        clock.advance(timedelta(hours=2))
        plan = plan_pause(plan=plan, actor=actor, comment="hold on")
        clock.advance(timedelta(hours=5))
        plan = plan_resume(plan=plan, actor=actor, comment="go on")
    assert plan.phase_started_at == T0 + timedelta(hours=5)
    assert AuditEvent.objects.filter(action="flag.rollout_paused").count() == 1


def test_one_active_plan_per_flag_and_environment(prod: Any, actor: Any) -> None:
    flag = model_flag(environment=prod)
    started_plan(flag, prod, actor)
    with pytest.raises(ConfigError, match="already runs rollout"):
        started_plan(flag, prod, actor)


def test_a_stale_plan_cannot_take_a_step(prod: Any, actor: Any) -> None:
    flag = model_flag(environment=prod)
    plan = started_plan(flag, prod, actor)
    stale = type(plan).objects.get(pk=plan.pk)
    plan_advance(plan=plan, actor=actor, comment="first")
    with pytest.raises(PlanConflict):
        plan_advance(plan=stale, actor=actor, comment="second")
    plan.refresh_from_db()
    assert plan.current_phase == 1


def test_it_refuses_unknown_variants_segments_and_metrics(prod: Any, actor: Any) -> None:
    from releases.templates_builtin import GateSpec

    flag = model_flag(environment=prod)
    with pytest.raises(ConfigError) as exc:
        plan_create(
            flag=flag,
            environment=prod,
            variant="newer",
            replaces="old",
            actor=actor,
            phases=[PhaseSpec("x", percentage=Decimal(200), segments=("nope",))],
            gates=[GateSpec("p95_latency_ms", 1, 60, compare_with_control=True)],
        )
    fields = {path for path, _ in exc.value.errors}
    assert fields == {
        "variant",
        "phases[0].percentage",
        "phases[0].segments",
        "gates[0].compare_with_control",
    }


def test_the_job_actor_is_named(prod: Any) -> None:
    from releases.plans import ROLLOUT_PLAN

    flag = model_flag(environment=prod)
    plan = plan_create(
        flag=flag, environment=prod, variant="new", replaces="old", actor=Actor(label="t")
    )
    plan_start(plan=plan, actor=ROLLOUT_PLAN)
    event = AuditEvent.objects.filter(action="flag.rollout_started").get()
    assert event.actor is None and event.actor_label == "rollout plan"
