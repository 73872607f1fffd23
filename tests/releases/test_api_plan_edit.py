"""PATCH /api/v1/rollouts/{id}: a draft's phases and gates replaced, a started plan's gates
re-tuned, with the page's function (releases/editing.py), its audit rows and its revision."""

from __future__ import annotations

from typing import Any

from flags.models import AuditEvent
from flagsite import clock
from releases.models import Gate, GateReading, RolloutPlan
from tests.flags.builders import environments
from tests.flags.ui_support import client_for

from .builders import draft_plan, model_flag, plan_patch, started_plan


def test_it_edits_a_draft_through_the_api(admin_user: Any, actor: Any) -> None:
    plan = draft_plan(actor, environments()[0])
    client = client_for(admin_user)
    read = client.get(f"/api/v1/rollouts/{plan.pk}")
    assert read["ETag"] == f'"{plan.revision}"' and read.json()["revision"] == plan.revision
    body = {
        "phases": [
            {"percentage": 2, "min_duration_seconds": 3600},
            {"name": "all", "percentage": 100, "min_duration_seconds": 0},
        ],
        "gates": [{"metric": "error_rate", "threshold": 0.01, "window_seconds": 600}],
        "comment": "slower",
    }
    r = plan_patch(client, plan, body, **{"If-Match": read["ETag"]})
    assert r.status_code == 200, r.content
    data = r.json()
    assert [p["percentage"] for p in data["phases"]] == ["2.000", "100.000"]
    assert [(g["metric"], g["threshold"], g["min_sample"]) for g in data["gates"]] == [
        ("error_rate", 0.01, 50)
    ]
    assert data["status"] == "draft" and r["ETag"] == f'"{plan.revision + 1}"'
    audit = AuditEvent.objects.get(action="flag.rollout_edited")
    assert audit.comment == "slower" and "2 phases, 1 gates" in audit.summary
    assert data["events"][-1]["kind"] == "edited"


def test_it_keeps_what_a_draft_edit_leaves_out(admin_user: Any, actor: Any) -> None:
    plan = draft_plan(actor, environments()[0])
    gates = list(Gate.objects.filter(plan=plan).values_list("metric", "threshold"))
    r = plan_patch(client_for(admin_user), plan, {"phases": [{"percentage": 50}], "name": "half"})
    assert r.status_code == 200, r.content
    assert [p["percentage"] for p in r.json()["phases"]] == ["50.000"]
    assert [(g["metric"], g["threshold"]) for g in r.json()["gates"]] == gates
    assert r.json()["name"] == "half"
    r = plan_patch(client_for(admin_user), plan, {"gates": []})  # a plan with no gates
    assert r.status_code == 200 and r.json()["gates"] == [] and len(r.json()["phases"]) == 1


def test_it_tunes_a_running_plans_gates_through_the_api(admin_user: Any, actor: Any) -> None:
    dev = environments()[0]
    plan = started_plan(model_flag(environment=dev), dev, actor)
    gate = Gate.objects.get(plan=plan, metric="error_rate")
    GateReading.objects.create(gate=gate, at=clock.now(), value=0.01, sample=40)
    ids = list(Gate.objects.filter(plan=plan).values_list("id", flat=True))
    body = {
        "gates": [{"metric": "error_rate", "threshold": 0.02, "window_seconds": 600}],
        "comment": "noisy at night",
    }
    r = plan_patch(client_for(admin_user), plan, body)
    assert r.status_code == 200, r.content
    assert r.json()["status"] == "running"
    gates = list(Gate.objects.filter(plan=plan))
    assert [g.id for g in gates] == ids  # the same gates: readings and trend stay theirs
    assert (gates[0].threshold, gates[0].window_seconds, gates[0].min_sample) == (0.02, 600, 50)
    assert gates[1].threshold == 5000  # not named: unchanged
    assert GateReading.objects.filter(gate=gate).count() == 1
    audit = AuditEvent.objects.get(action="flag.rollout_gates_edited")
    assert audit.comment == "noisy at night"
    assert "error_rate 0.05/300s/n50 -> 0.02/600s/n50" in audit.summary
    assert "p95_latency_ms" not in audit.summary


def test_it_refuses_a_stale_if_match_with_412(admin_user: Any, actor: Any) -> None:
    plan = draft_plan(actor, environments()[0])
    client = client_for(admin_user)
    etag = client.get(f"/api/v1/rollouts/{plan.pk}")["ETag"]
    assert plan_patch(client, plan, {"name": "first"}, **{"If-Match": etag}).status_code == 200
    r = plan_patch(client, plan, {"name": "second"}, **{"If-Match": etag})
    assert r.status_code == 412 and "changed meanwhile" in r.json()["error"]["message"]
    assert plan_patch(client, plan, {"name": "x"}, **{"If-Match": "nonsense"}).status_code == 412
    assert RolloutPlan.objects.get(pk=plan.pk).name == "first"
    assert plan_patch(client, plan, {"name": "any"}, **{"If-Match": "*"}).status_code == 200


def test_it_documents_the_patch_in_the_schema(client: Any, db: Any) -> None:
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    patch = schema["paths"]["/api/v1/rollouts/{id}"]["patch"]
    assert {"200", "400", "403", "404", "412"} <= set(patch["responses"])
    assert [p["name"] for p in patch["parameters"] if p["in"] == "header"] == ["If-Match"]
    body = patch["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    fields = schema["components"]["schemas"][body.rsplit("/", 1)[1]]["properties"]
    assert set(fields) == {"phases", "gates", "name", "comment"}
    plan = schema["components"]["schemas"]["Plan"]["properties"]
    assert "revision" in plan
