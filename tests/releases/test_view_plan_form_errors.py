"""Bad rows: the form comes back with the values people typed and an error naming the row and
the field; nothing is created, and a saved draft keeps what it had."""

from __future__ import annotations

from typing import Any

from releases.models import RolloutPlan
from releases.plans import plan_create
from tests.flags.builders import environments
from tests.flags.ui_support import client_for

from .builders import model_flag
from .form_support import new_plan_data, rows_data

BAD_PHASES = [("5 %", "abc"), ("nobody-knows", "1"), ("150 %", "1"), ("complete", "0")]
BAD_GATES = [("error_rate", "lots", "5", "50"), ("made_up_metric", "1", "5", "50")]


def test_it_names_each_bad_field_and_keeps_the_values(admin_user: Any) -> None:
    dev = environments()[0]
    flag = model_flag(environment=dev)
    client = client_for(admin_user)
    r = client.post(
        f"/flags/{flag.key}/rollouts/new/",
        new_plan_data(BAD_PHASES, BAD_GATES[:1], name="mine", comment="why"),
    )
    page = r.content.decode()
    assert r.status_code == 400
    assert "Phase 1, minimum hours: A valid integer is required." in page
    assert "Gate 1, threshold: A valid number is required." in page
    assert not RolloutPlan.objects.exists()
    for value in ("5 %", "abc", "nobody-knows", "150 %", "lots", "mine", "why"):
        assert f'value="{value}"' in page, value
    # Once the values parse, the plan's own checks name theirs the same way
    phases = [("5 %", "1"), *BAD_PHASES[1:]]
    gates = [("error_rate", "0.05", "5", "50"), BAD_GATES[1]]
    r = client.post(f"/flags/{flag.key}/rollouts/new/", new_plan_data(phases, gates))
    page = r.content.decode()
    assert "Phase 2, segment: No segment &#x27;nobody-knows&#x27;." in page
    assert "Phase 3, percentage: A percentage is more than 0 and at most 100." in page
    assert "Gate 2, metric: No metric &#x27;made_up_metric&#x27; in the catalogue." in page
    assert 'class="plan-row has-error"' in page and not RolloutPlan.objects.exists()
    r = client.post(f"/flags/{flag.key}/rollouts/new/", new_plan_data([("s" * 200, "1")], []))
    assert "Phase 1, segment: Ensure this field has no more than 128 characters." in (
        r.content.decode()
    )


def test_it_keeps_a_saved_draft_when_an_edit_is_refused(admin_user: Any, actor: Any) -> None:
    dev = environments()[0]
    flag = model_flag(environment=dev)
    plan = plan_create(flag=flag, environment=dev, variant="new", replaces="old", actor=actor)
    data = {"revision": str(plan.revision), **rows_data([("10 %", "1"), ("0 %", "1")], [])}
    r = client_for(admin_user).post(f"/rollouts/{plan.pk}/edit/", data)
    assert r.status_code == 400
    assert "Phase 2, percentage: A percentage is more than 0 and at most 100." in r.content.decode()
    assert 'value="0 %"' in r.content.decode()
    assert [str(p.percentage) for p in plan.phase_list()] == [
        "1.000",
        "5.000",
        "25.000",
        "50.000",
        "100.000",
    ]
    assert plan.gates.count() == 4
