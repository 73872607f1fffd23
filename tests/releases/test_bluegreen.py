"""Blue-green: one action moves the default traffic; a guarded switch switches back by itself."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from flags.changes import flag_config_update
from flags.models import AuditEvent, FlagConfig, Version
from flagsite import clock
from releases.bluegreen import bluegreen_state, bluegreen_switch
from releases.checks import plan_check
from releases.models import PlanStatus
from tests.flags.builders import environments
from tests.flags.ui_support import client_for

from .builders import calls, model_flag, served

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def prod(db: Any) -> Any:
    return environments()[1]


def _default(flag: Any, env: Any) -> Any:
    return FlagConfig.objects.get(flag=flag, environment=env).default


def test_one_switch_moves_everyone_in_one_version(prod: Any, actor: Any) -> None:
    flag = model_flag(environment=prod)
    versions = Version.objects.filter(flag=flag, environment=prod).count()
    assert (
        bluegreen_switch(flag=flag, environment=prod, to="new", actor=actor, comment="go") is None
    )
    assert set(served(prod, flag.key, range(500)).values()) == {"new"}
    assert Version.objects.filter(flag=flag, environment=prod).count() == versions + 1
    bluegreen_switch(flag=flag, environment=prod, to="old", actor=actor, comment="back")
    state = bluegreen_state(flag, prod)
    assert state.live == "old" and state.other == "new" and state.since is not None
    assert [e.comment for e in state.switches] == ["back", "go"]


def test_a_guarded_switch_switches_back_on_a_breach(prod: Any, actor: Any) -> None:
    flag = model_flag(environment=prod)
    with clock.freeze(T0):
        plan = bluegreen_switch(
            flag=flag, environment=prod, to="new", actor=actor, comment="go", guard_seconds=3600
        )
        assert plan is not None
        calls(prod, variant="new", n=60, errors=30)
        assert plan_check(plan_id=plan.pk) == "rolled_back"
    assert _default(flag, prod) == {"variant": "old"}
    back = AuditEvent.objects.get(action="flag.rollout_rolled_back_bluegreen")
    assert back.actor_label == "automatic rollback"
    assert bluegreen_state(flag, prod).live == "old"


def test_a_quiet_guard_window_completes_and_the_switch_stays(prod: Any, actor: Any) -> None:
    flag = model_flag(environment=prod)
    with clock.freeze(T0):
        plan = bluegreen_switch(
            flag=flag, environment=prod, to="new", actor=actor, comment="go", guard_seconds=600
        )
        assert plan is not None
        clock.advance(timedelta(minutes=10))
        assert plan_check(plan_id=plan.pk) == "advanced"
    plan.refresh_from_db()
    assert plan.status == PlanStatus.COMPLETED and _default(flag, prod) == {"variant": "new"}


def test_switching_back_leaves_a_default_changed_meanwhile(prod: Any, actor: Any) -> None:
    flag = model_flag(environment=prod)
    plan = bluegreen_switch(
        flag=flag, environment=prod, to="new", actor=actor, comment="go", guard_seconds=600
    )
    assert plan is not None
    split = {"split": [{"variant": "old", "weight": 50}, {"variant": "new", "weight": 50}]}
    flag_config_update(flag=flag, environment=prod, actor=actor, comment="half", default=split)
    calls(prod, variant="new", n=60, errors=60)
    assert plan_check(plan_id=plan.pk) == "rolled_back"
    assert _default(flag, prod) == split


def test_the_page_shows_the_live_colour_and_switches(admin_user: Any) -> None:
    prod = environments()[1]
    flag = model_flag(environment=prod)
    client = client_for(admin_user)
    client.post(f"/flags/{flag.key}/bluegreen/prod/", {"to": "new", "comment": "deploy"})
    assert _default(flag, prod) == {"variant": "new"}
    page = client.get(f"/flags/{flag.key}/rollouts/").content.decode()
    assert 'data-live="new"' in page and "deploy" in page and "Switch to old" in page
