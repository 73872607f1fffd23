"""A draft's phases and gates change on its edit page before it starts; a started plan's do
not; a form read before someone else changed the draft is refused."""

from __future__ import annotations

from typing import Any

from flags.models import AuditEvent
from releases.models import PlanStatus
from releases.plans import plan_rollback, plan_start
from tests.flags.builders import environments
from tests.flags.ui_support import client_for

from .builders import draft_plan
from .form_support import rows_data


def test_it_edits_adraft_plan(admin_user: Any, actor: Any) -> None:
    plan = draft_plan(actor, environments()[0])
    client = client_for(admin_user)
    rollouts = client.get(f"/flags/{plan.flag.key}/rollouts/").content.decode()
    assert f'href="/rollouts/{plan.pk}/edit/"' in rollouts
    form = client.get(f"/rollouts/{plan.pk}/edit/").content.decode()
    assert 'name="phase-0-audience" value="1 %"' in form
    assert f'name="revision" value="{plan.revision}"' in form
    data = {
        "name": "two steps",
        "revision": str(plan.revision),
        "comment": "slower",
        **rows_data([("2 %", "6"), ("100 %", "0")], [("error_rate", "0.01", "30", "200")]),
    }
    r = client.post(f"/rollouts/{plan.pk}/edit/", data)
    assert r.status_code == 302, r.content.decode()
    plan.refresh_from_db()
    assert plan.name == "two steps" and plan.status == PlanStatus.DRAFT
    assert [(str(p.percentage), p.min_duration_seconds) for p in plan.phase_list()] == [
        ("2.000", 21600),
        ("100.000", 0),
    ]
    gates = [(g.metric, g.threshold, g.window_seconds, g.min_sample) for g in plan.gates.all()]
    assert gates == [("error_rate", 0.01, 1800, 200)]
    audit = AuditEvent.objects.get(action="flag.rollout_edited")
    assert audit.comment == "slower" and "1 gates" in audit.summary
    assert plan.events.filter(kind="edited").count() == 1


def test_it_refuses_to_edit_an_ended_plan(admin_user: Any, actor: Any) -> None:
    plan = plan_start(plan=draft_plan(actor, environments()[0]), actor=actor)
    plan = plan_rollback(plan=plan, actor=actor, comment="no")
    client = client_for(admin_user)
    assert "no longer change" in client.get(f"/rollouts/{plan.pk}/edit/").content.decode()
    data = {"revision": str(plan.revision), **rows_data([("50 %", "1")], [])}
    r = client.post(f"/rollouts/{plan.pk}/edit/", data)
    assert r.status_code == 400 and "Only a draft is edited" in r.content.decode()
    assert plan.phase_list()[0].percentage == 1


def test_it_refuses_a_form_read_before_another_change(admin_user: Any, actor: Any) -> None:
    plan = draft_plan(actor, environments()[0])
    client = client_for(admin_user)
    stale = str(plan.revision)
    client.post(f"/rollouts/{plan.pk}/edit/", {"revision": stale, **rows_data([("3 %", "1")], [])})
    r = client.post(
        f"/rollouts/{plan.pk}/edit/", {"revision": stale, **rows_data([("9 %", "1")], [])}
    )
    assert r.status_code == 400 and "changed meanwhile" in r.content.decode()
    assert [str(p.percentage) for p in plan.phase_list()] == ["3.000"]
