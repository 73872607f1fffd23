"""A started plan's gates are re-tuned on its edit page (threshold, window, sample) with a
comment and an audit row; its phases and its gates' metrics do not change."""

from __future__ import annotations

from typing import Any

from flags.models import AuditEvent
from releases.models import Gate
from tests.flags.builders import environments
from tests.flags.ui_support import client_for

from .builders import model_flag, started_plan
from .form_support import rows_data

GATES = [
    ("error_rate", "0.02", "10", "80"),
    ("p95_latency_ms", "5000", "10", "50"),
    ("hallucination_rate", "0.1", "30", "50"),
    ("safety_violation_rate", "0.001", "5", "100"),
]


def test_it_tunes_a_running_plans_gates_with_a_comment(admin_user: Any, actor: Any) -> None:
    dev = environments()[0]
    plan = started_plan(model_flag(environment=dev), dev, actor)
    client = client_for(admin_user)
    assert f'href="/rollouts/{plan.pk}/edit/">Tune gates' in client.get(
        f"/flags/{plan.flag.key}/rollouts/"
    ).content.decode("utf-8")
    form = client.get(f"/rollouts/{plan.pk}/edit/").content.decode()
    assert '<input type="hidden" name="gate-0-metric" value="error_rate">' in form
    assert "phase-0-audience" not in form and "Save gates" in form
    gate_ids = list(Gate.objects.filter(plan=plan).values_list("id", flat=True))
    data = {"revision": str(plan.revision), **rows_data([("50 %", "1")], GATES)}
    r = client.post(f"/rollouts/{plan.pk}/edit/", data)
    assert r.status_code == 400 and "needs a comment" in r.content.decode()
    assert 'value="0.02"' in r.content.decode()
    r = client.post(f"/rollouts/{plan.pk}/edit/", {**data, "comment": "noisy at night"})
    assert r.status_code == 302
    gates = list(Gate.objects.filter(plan=plan))
    assert [g.id for g in gates] == gate_ids  # the same gates: readings and trend stay
    assert (gates[0].threshold, gates[0].window_seconds, gates[0].min_sample) == (0.02, 600, 80)
    assert plan.phase_list()[0].percentage == 1  # phases stay
    audit = AuditEvent.objects.get(action="flag.rollout_gates_edited")
    assert audit.comment == "noisy at night"
    assert "error_rate 0.05/300s/n50 -> 0.02/600s/n80" in audit.summary
    assert plan.events.get(kind="gates_edited").details["gates"][0]["after"]["threshold"] == 0.02


def test_it_keeps_a_started_plans_metrics(admin_user: Any, actor: Any) -> None:
    dev = environments()[0]
    plan = started_plan(model_flag(environment=dev), dev, actor)
    swapped = [("cost_per_call", "0.5", "10", "50"), *GATES[1:]]
    data = {"revision": str(plan.revision), "comment": "x", **rows_data([], swapped)}
    r = client_for(admin_user).post(f"/rollouts/{plan.pk}/edit/", data)
    assert r.status_code == 400 and "keeps its gates&#x27; metrics" in r.content.decode()
    bad = [("error_rate", "-", "10", "50"), *GATES[1:]]
    data = {"revision": str(plan.revision), "comment": "x", **rows_data([], bad)}
    r = client_for(admin_user).post(f"/rollouts/{plan.pk}/edit/", data)
    assert "Gate 1, threshold: A valid number is required." in r.content.decode()
    assert Gate.objects.filter(plan=plan).first().threshold == 0.05  # type: ignore[union-attr]
