"""Who may shape a plan on the page: the rules of every rollout button (flags.policy). A viewer
is refused; in production an editor is refused and an admin needs a comment."""

from __future__ import annotations

from typing import Any

from releases.models import RolloutPlan
from releases.plans import plan_create
from tests.flags.builders import environments
from tests.flags.ui_support import client_for

from .builders import model_flag
from .form_support import new_plan_data, rows_data

ROWS = rows_data([("10 %", "1")], [])


def test_it_refuses_a_viewer(viewer_user: Any, actor: Any) -> None:
    dev = environments()[0]
    flag = model_flag(environment=dev)
    client = client_for(viewer_user)
    r = client.post(f"/flags/{flag.key}/rollouts/new/", new_plan_data([("10 %", "1")], []))
    assert r.status_code == 403 and not RolloutPlan.objects.exists()
    plan = plan_create(flag=flag, environment=dev, variant="new", replaces="old", actor=actor)
    page = client.get(f"/flags/{flag.key}/rollouts/").content.decode()
    assert "Edit phases and gates" not in page and 'id="rollout-new"' not in page
    r = client.post(f"/rollouts/{plan.pk}/edit/", {"revision": str(plan.revision), **ROWS})
    assert r.status_code == 403 and plan.phase_list()[0].percentage == 1


def test_production_needs_an_admin_and_a_comment(
    admin_user: Any, editor_user: Any, actor: Any
) -> None:
    prod = environments()[1]
    flag = model_flag(environment=prod)
    plan = plan_create(flag=flag, environment=prod, variant="new", replaces="old", actor=actor)
    url = f"/rollouts/{plan.pk}/edit/"
    r = client_for(editor_user).post(url, {"revision": str(plan.revision), **ROWS})
    assert r.status_code == 403
    admin = client_for(admin_user)
    r = admin.post(url, {"revision": str(plan.revision), **ROWS})
    assert r.status_code == 400
    assert "comment: Changes that reach production need a comment" in r.content.decode()
    assert plan.phase_list()[0].percentage == 1
    r = admin.post(url, {"revision": str(plan.revision), "comment": "smaller first", **ROWS})
    assert r.status_code == 302 and plan.phase_list()[0].percentage == 10
    # Creating and starting at once: a refused start leaves no draft behind
    data = new_plan_data([("10 %", "1")], [], environment="prod", start="1")
    r = admin.post(f"/flags/{flag.key}/rollouts/new/", data)
    assert r.status_code == 400 and "need a comment" in r.content.decode()
    assert RolloutPlan.objects.filter(flag=flag).count() == 1
