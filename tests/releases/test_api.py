"""The rollout management API: create from a template, act with comments, roles."""

from __future__ import annotations

import json
from typing import Any

from flags.models import FlagConfig
from tests.flags.builders import environments
from tests.flags.ui_support import client_for

from .builders import model_flag


def _post(client: Any, url: str, data: Any) -> Any:
    return client.post(url, json.dumps(data), content_type="application/json")


def test_it_creates_starts_and_rolls_back_a_canary(admin_user: Any) -> None:
    prod = environments()[1]
    flag = model_flag(environment=prod)
    client = client_for(admin_user)
    url = f"/api/v1/flags/{flag.key}/environments/prod/rollouts"
    r = _post(client, url, {"variant": "new", "replaces": "old", "start": True, "comment": "go"})
    assert r.status_code == 201, r.content
    plan = r.json()
    assert plan["status"] == "running" and plan["template"] == "canary"
    assert [p["percentage"] for p in plan["phases"]] == [
        "1.000",
        "5.000",
        "25.000",
        "50.000",
        "100.000",
    ]
    assert {g["metric"] for g in plan["gates"]} == {
        "error_rate",
        "p95_latency_ms",
        "hallucination_rate",
        "safety_violation_rate",
    }
    r = _post(client, f"/api/v1/rollouts/{plan['id']}/rollback", {})
    assert r.status_code == 400 and "comment" in r.json()["error"]["fields"]
    r = _post(client, f"/api/v1/rollouts/{plan['id']}/rollback", {"comment": "latency"})
    assert r.status_code == 200 and r.json()["status"] == "rolled_back"
    assert FlagConfig.objects.get(flag=flag, environment=prod).rules == []
    assert client.get(url).json()[0]["events"][-1]["kind"] == "rolled_back"


def test_custom_phases_and_gates(admin_user: Any) -> None:
    dev = environments()[0]
    flag = model_flag(environment=dev)
    body = {
        "variant": "new",
        "replaces": "old",
        "phases": [{"name": "ten", "percentage": 10, "min_duration_seconds": 60}],
        "gates": [{"metric": "error_rate", "threshold": 0.02, "window_seconds": 120}],
    }
    r = _post(client_for(admin_user), f"/api/v1/flags/{flag.key}/environments/dev/rollouts", body)
    assert r.status_code == 201, r.content
    assert r.json()["status"] == "draft" and len(r.json()["gates"]) == 1


def test_unknown_actions_and_viewers_are_refused(admin_user: Any, viewer_user: Any) -> None:
    dev = environments()[0]
    flag = model_flag(environment=dev)
    url = f"/api/v1/flags/{flag.key}/environments/dev/rollouts"
    plan = _post(client_for(admin_user), url, {"variant": "new", "replaces": "old"}).json()
    assert (
        _post(client_for(admin_user), f"/api/v1/rollouts/{plan['id']}/explode", {}).status_code
        == 404
    )
    assert (
        _post(client_for(viewer_user), f"/api/v1/rollouts/{plan['id']}/start", {}).status_code
        == 403
    )
    assert (
        _post(client_for(viewer_user), url, {"variant": "new", "replaces": "old"}).status_code
        == 403
    )
