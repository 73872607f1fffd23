"""The new-plan form: the chosen template's phases and gates as editable rows, and a plan
created from rows people changed."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flags.changes import Actor, segment_create
from releases.models import PlanStatus, RolloutPlan
from tests.flags.builders import environments
from tests.flags.ui_support import HTMX, client_for

from .builders import model_flag
from .form_support import new_plan_data


def test_it_fills_the_rows_from_the_chosen_template(admin_user: Any) -> None:
    dev = environments()[0]
    flag = model_flag(environment=dev)
    client = client_for(admin_user)
    page = client.get(f"/flags/{flag.key}/rollouts/").content.decode()
    assert 'name="phase-0-audience" value="1 %"' in page
    assert 'name="phase-4-audience" value="100 %"' in page
    assert 'name="gate-0-threshold" value="0.05"' in page
    assert 'name="gate-0-window" value="5"' in page
    assert 'name="phase-7-audience" value=""' in page  # blank rows, to add without JavaScript
    # Another template: a link (works as a plain GET) that htmx turns into a swap of the form
    url = f"/flags/{flag.key}/rollouts/?template=feature_rollout"
    assert f'href="{url}#rollout-new"' in page and f'hx-get="{url}"' in page
    full = client.get(url).content.decode()
    assert 'value="internal-users"' in full and 'value="complete"' in full
    part = client.get(url, headers={**HTMX, "HX-Target": "rollout-new"}).content.decode()
    assert "<html" not in part
    assert 'id="rollout-new"' in part and 'value="internal-users"' in part
    assert '<option value="dev">' in part
    # htmx sends the chosen environment and variants along: they stay, and so does "Start now"
    kept = client.get(
        f"{url}&environment=dev&variant=old", headers={**HTMX, "HX-Target": "rollout-new"}
    )
    assert '<option value="dev" selected>' in kept.content.decode()
    assert 'name="start" value="1" checked' in kept.content.decode()


def test_it_creates_a_draft_with_custom_phases_and_gates(admin_user: Any) -> None:
    dev = environments()[0]
    flag = model_flag(environment=dev)
    segment_create(key="beta", name="Beta", actor=Actor(label="test"))
    data = new_plan_data(
        [("beta", "2"), ("10 %", "0.5"), ("beta + 50%", "12"), ("complete", "0")],
        [("error_rate", "0.02", "15", "80"), ("p95_latency_ms", "3000", "10", "50")],
        name="careful",
    )
    r = client_for(admin_user).post(f"/flags/{flag.key}/rollouts/new/", data)
    assert r.status_code == 302
    plan = RolloutPlan.objects.get(flag=flag)
    assert plan.status == PlanStatus.DRAFT and plan.name == "careful"
    phases = [
        (p.segments, p.percentage, p.min_duration_seconds, p.completes) for p in plan.phase_list()
    ]
    assert phases == [
        (["beta"], None, 7200, False),
        ([], Decimal(10), 1800, False),
        (["beta"], Decimal(50), 43200, False),
        ([], None, 0, True),
    ]
    gates = [(g.metric, g.threshold, g.window_seconds, g.min_sample) for g in plan.gates.all()]
    assert gates == [("error_rate", 0.02, 900, 80), ("p95_latency_ms", 3000.0, 600, 50)]


def test_it_starts_a_plan_made_of_custom_rows(admin_user: Any) -> None:
    dev = environments()[0]
    flag = model_flag(environment=dev)
    data = new_plan_data([("20 %", "1"), ("100 %", "0")], [], start="1")
    client_for(admin_user).post(f"/flags/{flag.key}/rollouts/new/", data)
    plan = RolloutPlan.objects.get(flag=flag)
    assert plan.status == PlanStatus.RUNNING and plan.gates.count() == 0
    assert [str(p.percentage) for p in plan.phase_list()] == ["20.000", "100.000"]
