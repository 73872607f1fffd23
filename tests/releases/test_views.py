"""The rollout pages: the plan on the flag page, buttons, the dashboard of running rollouts."""

from __future__ import annotations

from typing import Any

from releases.checks import plan_check
from releases.models import PlanStatus, RolloutPlan
from tests.flags.builders import environments
from tests.flags.ui_support import client_for

from .builders import calls, model_flag, started_plan


def test_the_flag_page_shows_the_plan_with_gates_and_buttons(admin_user: Any, actor: Any) -> None:
    prod = environments()[1]
    flag = model_flag(environment=prod)
    plan = started_plan(flag, prod, actor)
    calls(prod, variant="new", n=10, errors=0)
    plan_check(plan_id=plan.pk)
    page = client_for(admin_user).get(f"/flags/{flag.key}/rollouts/").content.decode()
    assert "Rolls out" in page and "phase-current" in page and "left" in page
    assert "Error rate" in page and "(min 50)" in page
    assert "Roll back now" in page and "Advance now" in page
    assert "style=" not in page and "<script>" not in page
    assert "scheduled-phase" in page and "5 % (5 % of units)" in page


def test_buttons_act_with_a_comment(admin_user: Any, actor: Any) -> None:
    prod = environments()[1]
    flag = model_flag(environment=prod)
    plan = started_plan(flag, prod, actor)
    client = client_for(admin_user)
    client.post(f"/rollouts/{plan.pk}/rollback/", {"comment": ""})
    assert RolloutPlan.objects.get(pk=plan.pk).status == PlanStatus.RUNNING  # comment required
    client.post(f"/rollouts/{plan.pk}/pause/", {"comment": "wait for the on-call"})
    assert RolloutPlan.objects.get(pk=plan.pk).status == PlanStatus.PAUSED


def test_the_new_plan_form_starts_a_canary(admin_user: Any) -> None:
    dev = environments()[0]
    flag = model_flag(environment=dev)
    r = client_for(admin_user).post(
        f"/flags/{flag.key}/rollouts/new/",
        {
            "environment": "dev",
            "template": "canary",
            "variant": "new",
            "replaces": "old",
            "start": "1",
        },
    )
    assert r.status_code == 302
    assert RolloutPlan.objects.get(flag=flag).status == PlanStatus.RUNNING


def test_the_dashboard_lists_running_rollouts(admin_user: Any, actor: Any) -> None:
    prod = environments()[1]
    started_plan(model_flag(environment=prod), prod, actor)
    page = client_for(admin_user).get("/rollouts/").content.decode()
    assert "llm-model" in page and "1/5" in page and "healthy" in page


def test_a_rolled_back_plan_stays_on_the_page_with_its_alert(admin_user: Any, actor: Any) -> None:
    prod = environments()[1]
    flag = model_flag(environment=prod)
    plan = started_plan(flag, prod, actor)
    calls(prod, variant="new", n=60, errors=60)
    plan_check(plan_id=plan.pk)
    page = client_for(admin_user).get(f"/flags/{flag.key}/rollouts/").content.decode()
    assert 'data-status="rolled_back"' in page
    assert "llm-model rolled back in prod: error_rate" in page
    assert "gate-breached" in page and "Roll back now" not in page
