"""PATCH /api/v1/rollouts/{id} refusals: each a 4xx naming the field, with the page's
messages (one validator, one edit function: releases/validation.py, releases/editing.py)."""

from __future__ import annotations

from typing import Any

from django.test import Client

from flags.api.tokens import personal_token_create
from releases.editing import KEEP_METRICS
from releases.models import Gate, RolloutPlan
from releases.plans import plan_rollback
from tests.flags.builders import environments
from tests.flags.ui_support import client_for

from .builders import draft_plan, model_flag, plan_patch, started_plan
from .form_support import rows_data

GATE = {"metric": "error_rate", "threshold": 0.02, "window_seconds": 600}


def _fields(response: Any, status: int = 400) -> dict[str, list[str]]:
    assert response.status_code == status, response.content
    return dict(response.json()["error"].get("fields", {}))


def _running(actor: Any, key: str = "llm-model") -> RolloutPlan:
    dev = environments()[0]
    return started_plan(model_flag(key, environment=dev), dev, actor)


def test_it_refuses_a_started_plans_phases_and_new_metrics(admin_user: Any, actor: Any) -> None:
    plan, client = _running(actor), client_for(admin_user)
    body = {"phases": [{"percentage": 10}], "comment": "x"}
    assert _fields(plan_patch(client, plan, body))["phases"] == [
        "A started plan keeps its phases: roll it back or complete it, then make a new plan."
    ]
    body = {"gates": [GATE, {"metric": "cost_per_call", "threshold": 1}], "comment": "x"}
    assert _fields(plan_patch(client, plan, body))["gates[1].metric"] == [KEEP_METRICS]
    body = {"gates": [GATE, GATE], "comment": "x"}  # one error_rate gate, named twice
    assert "gates[1].metric" in _fields(plan_patch(client, plan, body))
    assert "name" in _fields(plan_patch(client, plan, {"name": "renamed", "comment": "x"}))
    assert Gate.objects.get(plan=plan, metric="error_rate").threshold == 0.05


def test_it_refuses_a_tune_without_a_comment(admin_user: Any, actor: Any) -> None:
    plan = _running(actor)
    fields = _fields(plan_patch(client_for(admin_user), plan, {"gates": [GATE]}))
    assert fields["comment"] == ["Changing a started plan's gates needs a comment."]


def test_it_refuses_any_edit_of_an_ended_plan(admin_user: Any, actor: Any) -> None:
    plan = plan_rollback(plan=_running(actor), actor=actor, comment="bad")
    fields = _fields(plan_patch(client_for(admin_user), plan, {"gates": [GATE], "comment": "x"}))
    assert fields["status"] == ["Only a draft is edited; this plan is rolled_back."]


def test_it_refuses_a_viewers_token_with_403(viewer_user: Any, actor: Any) -> None:
    plan = draft_plan(actor, environments()[0])
    _, token = personal_token_create(user=viewer_user, name="ci")
    r = plan_patch(Client(), plan, {"name": "x"}, Authorization=f"Token {token}")
    assert r.status_code == 403
    assert RolloutPlan.objects.get(pk=plan.pk).name != "x"


def test_it_refuses_malformed_and_mistyped_bodies(admin_user: Any, actor: Any) -> None:
    plan, client = draft_plan(actor, environments()[0]), client_for(admin_user)
    assert plan_patch(client, plan, '{"phases": [').status_code == 400
    assert "phases" in _fields(plan_patch(client, plan, {"phases": "all of them"}))
    assert "gates[0]" in _fields(plan_patch(client, plan, {"gates": ["error_rate"]}))
    fields = _fields(plan_patch(client, plan, {"gates": [{**GATE, "threshold": "high"}]}))
    assert fields["gates[0].threshold"] == ["A valid number is required."]
    fields = _fields(plan_patch(client, plan, {"phases": [{"percentage": 10}] * 21}))
    assert fields["phases"] == ["At most 20 phases (got 21)."]
    fields = _fields(plan_patch(client, plan, {"gates": [GATE] * 21}))
    assert fields["gates"] == ["At most 20 gates (got 21)."]
    infinite = '{"gates": [{"metric": "error_rate", "threshold": 1e999, "window_seconds": 60}]}'
    assert _fields(plan_patch(client, plan, infinite))["gates[0].threshold"] == [
        "A valid number is required."
    ]
    fields = _fields(plan_patch(client, plan, {"colour": "red", "gates": [{**GATE, "max": 1}]}))
    assert fields == {"colour": ["Unknown field."], "gates[0].max": ["Unknown field."]}
    assert len(RolloutPlan.objects.get(pk=plan.pk).phase_list()) == 5  # nothing changed


def test_it_gives_the_pages_message_for_the_same_bad_input(admin_user: Any, actor: Any) -> None:
    plan, client = draft_plan(actor, environments()[0]), client_for(admin_user)
    api = _fields(plan_patch(client, plan, {"phases": [{"percentage": 150}]}))
    data = {"revision": str(plan.revision), **rows_data([("150 %", "1")], [])}
    page = client.post(f"/rollouts/{plan.pk}/edit/", data).content.decode()
    message = "A percentage is more than 0 and at most 100."
    assert api["phases[0].percentage"] == [message]
    assert f"Phase 1, percentage: {message}" in page
    # A started plan's swapped metric: the page names the gates, the API the item.
    plan = _running(actor, "other-model")
    swapped = [("cost_per_call", "0.5", "10", "50")]
    data = {"revision": str(plan.revision), "comment": "x", **rows_data([], swapped)}
    page = client.post(f"/rollouts/{plan.pk}/edit/", data).content.decode()
    assert KEEP_METRICS.replace("'", "&#x27;") in page
    body = {"gates": [{"metric": "cost_per_call"}], "comment": "x"}
    assert _fields(plan_patch(client, plan, body))["gates[0].metric"] == [KEEP_METRICS]


def test_it_refuses_over_20_gates_on_a_started_plan(admin_user: Any, actor: Any) -> None:
    plan = _running(actor)
    body = {"gates": [GATE] * 21, "comment": "x"}
    assert _fields(plan_patch(client_for(admin_user), plan, body))["gates"] == [
        "At most 20 gates (got 21)."
    ]


ODD_BODIES = [
    "[]",
    "null",
    '"gates"',
    '{"name": null}',
    '{"name": ""}',
    '{"phases": [{"segments": "beta"}]}',
    '{"phases": [{"percentage": "NaN"}]}',
    '{"phases": [{"percentage": 1e999}]}',
    '{"phases": [null]}',
    '{"gates": [{}]}',
    '{"gates": [{"metric": ["error_rate"]}], "comment": "x"}',
    '{"gates": [{"metric": "error_rate", "threshold": null}], "comment": "x"}',
    '{"gates": [{"metric": "error_rate", "window_seconds": -1}], "comment": "x"}',
    '{"gates": [{"metric": "p95_latency_ms", "compare_with_control": true}], "comment": "x"}',
]


def test_it_answers_odd_bodies_with_400(admin_user: Any, actor: Any) -> None:
    client = client_for(admin_user)
    for plan in (draft_plan(actor, environments()[0]), _running(actor, "other-model")):
        for body in ODD_BODIES:
            r = plan_patch(client, plan, body)
            assert r.status_code == 400, (plan.status, body, r.content)
    r = plan_patch(client, plan, ODD_BODIES[-1])
    assert "gates[0].compare_with_control" in _fields(r)  # the item's path, not the gate's
