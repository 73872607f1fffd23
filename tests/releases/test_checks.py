"""The rollout job: gates over their own windows, minimum samples, rollback, timed advances."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from alerts.models import Alert
from flags.models import AuditEvent, FlagConfig
from flagsite import clock
from releases.checks import plan_check, rollouts_check
from releases.models import GateReading, PlanEvent, PlanStatus
from releases.templates_builtin import GateSpec
from tests.flags.builders import environments

from .builders import calls, model_flag, started_plan

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def prod(db: Any) -> Any:
    return environments()[1]


@pytest.fixture
def frozen() -> Any:
    with clock.freeze(T0) as at:
        yield at


def test_a_breached_gate_rolls_back_and_says_why(prod: Any, actor: Any, frozen: Any) -> None:
    flag = model_flag(environment=prod)
    plan = started_plan(flag, prod, actor)
    clock.advance(timedelta(minutes=1))
    calls(prod, variant="new", n=60, errors=12)  # 20 % errors
    calls(prod, variant="old", n=500, errors=0)

    assert rollouts_check() == {plan.pk: "rolled_back"}

    plan.refresh_from_db()
    assert plan.status == PlanStatus.ROLLED_BACK
    assert FlagConfig.objects.get(flag=flag, environment=prod).rules == []
    audit = AuditEvent.objects.get(action="flag.rollout_rolled_back")
    assert audit.actor_label == "automatic rollback"
    assert "error_rate 20.00 % > threshold 5.00 % over 5 min, sample 60" in audit.comment
    event = PlanEvent.objects.get(plan=plan, kind="rolled_back")
    [gate] = event.details["gates"]
    assert gate == {
        "gate": "error_rate",
        "value": pytest.approx(0.2),
        "threshold": 0.05,
        "window_seconds": 300,
        "sample": 60,
        "control_value": 0.0,
        "compare_with_control": False,
    }
    alert = Alert.objects.get(source="rollout")
    assert alert.severity == "critical" and alert.environment == prod
    assert alert.title == "llm-model rolled back in prod: error_rate"
    assert "sample 60" in alert.body and alert.details["gates"][0]["window_seconds"] == 300


def test_one_error_in_two_calls_does_not_roll_back(prod: Any, actor: Any, frozen: Any) -> None:
    flag = model_flag(environment=prod)
    plan = started_plan(flag, prod, actor)
    calls(prod, variant="new", n=2, errors=1)
    assert rollouts_check() == {plan.pk: "healthy"}
    reading = GateReading.objects.get(gate__plan=plan, gate__metric="error_rate")
    assert reading.value == 0.5 and reading.sample == 2 and not reading.breached


def test_each_gate_reads_only_its_own_window(prod: Any, actor: Any, frozen: Any) -> None:
    flag = model_flag(environment=prod)
    plan = started_plan(flag, prod, actor)
    calls(prod, variant="new", n=60, errors=60)  # all failing, at T0
    clock.advance(timedelta(minutes=6))  # the error gate's window is 5 min
    calls(prod, variant="new", n=60, errors=0)
    assert plan_check(plan_id=plan.pk) == "healthy"


def test_events_of_the_old_variant_never_breach(prod: Any, actor: Any, frozen: Any) -> None:
    flag = model_flag(environment=prod)
    plan = started_plan(flag, prod, actor)
    calls(prod, variant="old", n=100, errors=100)
    assert plan_check(plan_id=plan.pk) == "healthy"


@pytest.mark.parametrize(
    ("fields", "metric"),
    [
        ({"latency_ms": 9000.0}, "p95_latency_ms"),
        ({"hallucination": True}, "hallucination_rate"),
        ({"safety_violation": True}, "safety_violation_rate"),
    ],
)
def test_every_default_gate_fires(
    prod: Any, actor: Any, frozen: Any, fields: dict[str, Any], metric: str
) -> None:
    flag = model_flag(environment=prod)
    plan = started_plan(flag, prod, actor)
    calls(prod, variant="new", n=100, **fields)
    assert plan_check(plan_id=plan.pk) == "rolled_back"
    event = PlanEvent.objects.get(plan=plan, kind="rolled_back")
    assert [g["gate"] for g in event.details["gates"]] == [metric]


def test_a_canary_of_24_hour_phases_completes_in_seconds(
    prod: Any, actor: Any, frozen: Any
) -> None:
    flag = model_flag(environment=prod)
    plan = started_plan(flag, prod, actor)
    assert plan_check(plan_id=plan.pk) == "healthy"  # 1 %: its 24 h are not up
    outcomes = []
    for hours in (24, 24, 48, 24, 0):
        clock.advance(timedelta(hours=hours))
        outcomes.append(plan_check(plan_id=plan.pk))
    assert outcomes == ["advanced"] * 5
    plan.refresh_from_db()
    assert plan.status == PlanStatus.COMPLETED
    assert FlagConfig.objects.get(flag=flag, environment=prod).default == {"variant": "new"}
    kinds = list(PlanEvent.objects.filter(plan=plan).values_list("kind", flat=True))
    assert kinds == ["created", "started", *["advanced"] * 4, "completed"]
    assert AuditEvent.objects.filter(actor_label="rollout plan").count() == 5


def test_a_clock_jump_moves_one_phase_per_check(prod: Any, actor: Any, frozen: Any) -> None:
    flag = model_flag(environment=prod)
    plan = started_plan(flag, prod, actor)
    clock.advance(timedelta(days=30))
    plan_check(plan_id=plan.pk)
    plan.refresh_from_db()
    assert plan.current_phase == 1


def test_a_paused_plan_does_not_advance_but_still_rolls_back(
    prod: Any, actor: Any, frozen: Any
) -> None:
    from releases.plans import plan_pause

    flag = model_flag(environment=prod)
    plan = plan_pause(plan=started_plan(flag, prod, actor), actor=actor, comment="hold")
    clock.advance(timedelta(days=2))
    assert plan_check(plan_id=plan.pk) == "healthy"
    calls(prod, variant="new", n=60, errors=60)
    assert plan_check(plan_id=plan.pk) == "rolled_back"


def test_checking_twice_rolls_back_once(prod: Any, actor: Any, frozen: Any) -> None:
    flag = model_flag(environment=prod)
    plan = started_plan(flag, prod, actor)
    calls(prod, variant="new", n=60, errors=60)
    assert plan_check(plan_id=plan.pk) == "rolled_back"
    assert plan_check(plan_id=plan.pk) == "rolled_back"  # the status, nothing done
    assert AuditEvent.objects.filter(action="flag.rollout_rolled_back").count() == 1
    assert Alert.objects.filter(source="rollout").count() == 1


def test_a_control_comparison_gate_fires_on_a_clear_regression(
    prod: Any, actor: Any, frozen: Any
) -> None:
    flag = model_flag(environment=prod)
    gates = [GateSpec("error_rate", 1.0, 300, min_sample=100, compare_with_control=True)]
    plan = started_plan(flag, prod, actor, gates=gates)
    calls(prod, variant="old", n=2000, errors=40)  # 2 %
    calls(prod, variant="new", n=400, errors=10)  # 2.5 %: not clearly worse
    assert plan_check(plan_id=plan.pk) == "healthy"
    calls(prod, variant="new", n=600, errors=150)  # 16 % of 1000 now
    assert plan_check(plan_id=plan.pk) == "rolled_back"
    event = PlanEvent.objects.get(plan=plan, kind="rolled_back")
    assert event.details["gates"][0]["compare_with_control"] is True


def test_a_check_that_dies_midway_leaves_nothing_half_done(
    prod: Any, actor: Any, frozen: Any, monkeypatch: Any
) -> None:
    # A worker killed after the rollback was written but before the commit (simulated by a
    # crash in the alert step): the transaction is gone, the plan still runs; the message is
    # redelivered (acks late) and the next check finishes the work.
    from releases import checks

    flag = model_flag(environment=prod)
    plan = started_plan(flag, prod, actor)
    calls(prod, variant="new", n=60, errors=60)

    def crash(**kwargs: Any) -> None:
        raise SystemExit("worker killed")

    monkeypatch.setattr(checks, "rollout_alert", crash)
    with pytest.raises(SystemExit):
        plan_check(plan_id=plan.pk)
    plan.refresh_from_db()
    assert plan.status == PlanStatus.RUNNING
    assert len(FlagConfig.objects.get(flag=flag, environment=prod).rules) == 1
    monkeypatch.undo()
    assert plan_check(plan_id=plan.pk) == "rolled_back"
    assert Alert.objects.filter(source="rollout").count() == 1
