"""Who may schedule a change from the page: the rule of every change to that environment
(flags.policy). A viewer is refused and sees no form; in production an editor is refused and an
admin needs a comment."""

from __future__ import annotations

from typing import Any

from flagsite import clock
from releases.models import ScheduledChange
from tests.flags.builders import environments
from tests.flags.ui_support import client_for

from .builders import model_flag
from .schedule_support import T0, schedule_data


def test_it_refuses_a_viewer(viewer_user: Any) -> None:
    dev = environments()[0]
    flag = model_flag(environment=dev)
    client = client_for(viewer_user)
    with clock.freeze(T0):
        r = client.post(f"/flags/{flag.key}/scheduled-changes/new/", schedule_data(enabled="on"))
    assert r.status_code == 403 and not ScheduledChange.objects.exists()
    page = client.get(f"/flags/{flag.key}/rollouts/").content.decode()
    assert 'id="scheduled-changes"' in page and 'id="schedule-new"' not in page


def test_production_needs_an_admin_and_a_comment(admin_user: Any, editor_user: Any) -> None:
    dev = environments()[0]
    flag = model_flag(environment=dev)
    url = f"/flags/{flag.key}/scheduled-changes/new/"
    with clock.freeze(T0):
        # An editor schedules in dev, not in production (which the form does not offer)
        editor = client_for(editor_user)
        page = editor.get(f"/flags/{flag.key}/rollouts/").text
        assert '<option value="dev"' in page and "(production: comment required)" not in page
        assert (
            "(production: comment required)"
            in client_for(admin_user).get(f"/flags/{flag.key}/rollouts/").text
        )
        assert editor.post(url, schedule_data(enabled="on")).status_code == 302
        r = editor.post(url, schedule_data(environment="prod", enabled="on", comment="go"))
        assert r.status_code == 403
        # An admin schedules in production, with a comment
        admin = client_for(admin_user)
        r = admin.post(url, schedule_data(environment="prod", enabled="on"))
        assert r.status_code == 400 and "Comment: Changes that reach production" in r.text
        r = admin.post(url, schedule_data(environment="prod", enabled="on", comment="launch"))
        assert r.status_code == 302
    rows = ScheduledChange.objects.order_by("id")
    assert [(c.environment.key, c.created_by, c.comment) for c in rows] == [
        ("dev", editor_user, ""),
        ("prod", admin_user, "launch"),
    ]
