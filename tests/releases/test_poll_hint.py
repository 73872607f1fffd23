"""While a rollout plan's rules are in an environment's ruleset, the ruleset tells SDKs to poll
every FLAGSITE_ROLLOUT_POLL_SECONDS (`poll_interval`), so a rollback reaches them within seconds;
the hint goes with the plan's rules (docs/rollouts.md, "SDKs during a rollout")."""

from __future__ import annotations

import os
from typing import Any

import pytest

from flags.models import Environment
from flags.ruleset import ROLLOUT_RULE_PREFIX, ruleset_build
from releases.plans import plan_rollback
from tests.flags.test_api_support import SERVER, _fresh_key_cache  # noqa: F401
from tests.startup import django_setup_in_subprocess

from .builders import model_flag, started_plan

URL = "/api/v1/sdk/ruleset"
pytestmark = pytest.mark.django_db


@pytest.fixture
def development(demo: Any) -> Environment:
    return Environment.objects.get(key="development")


def test_the_ruleset_asks_for_faster_polls_while_a_plan_runs(
    client: Any, development: Environment, actor: Any, django_capture_on_commit_callbacks: Any
) -> None:
    before = client.get(URL, **SERVER)
    assert "poll_interval" not in before.json()
    flag = model_flag("rollout-hint-flag", environment=development)
    with django_capture_on_commit_callbacks(execute=True):
        plan = started_plan(flag, development, actor)
    during = client.get(URL, HTTP_IF_NONE_MATCH=before["ETag"], **SERVER)
    assert during.status_code == 200
    assert during.json()["poll_interval"] == 3
    rules = during.json()["flags"][flag.key]["rules"]
    assert any(r["id"].startswith(plan.rule_prefix) for r in rules)
    assert plan.rule_prefix.startswith(ROLLOUT_RULE_PREFIX)
    # Rolled back: the plan's rules go, and so does the hint (a new ETag: SDKs fetch it).
    with django_capture_on_commit_callbacks(execute=True):
        plan_rollback(plan=plan, actor=actor, comment="errors")
    after = client.get(URL, HTTP_IF_NONE_MATCH=during["ETag"], **SERVER)
    assert after.status_code == 200
    assert "poll_interval" not in after.json()


def test_zero_turns_the_hint_off(development: Environment, actor: Any, settings: Any) -> None:
    flag = model_flag("rollout-hint-off", environment=development)
    started_plan(flag, development, actor)
    settings.FLAGSITE_ROLLOUT_POLL_SECONDS = 5
    assert ruleset_build(development)["poll_interval"] == 5
    settings.FLAGSITE_ROLLOUT_POLL_SECONDS = 0
    assert "poll_interval" not in ruleset_build(development)


@pytest.mark.parametrize("value", ["-1", "301", "ten"])
def test_an_out_of_range_setting_is_refused_at_start(value: str) -> None:
    env = os.environ | {"FLAGSITE_ROLLOUT_POLL_SECONDS": value, "DEBUG": "true"}
    proc = django_setup_in_subprocess(env)
    assert proc.returncode != 0
    assert "FLAGSITE_ROLLOUT_POLL_SECONDS" in proc.stderr
