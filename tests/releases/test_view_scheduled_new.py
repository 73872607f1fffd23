"""A change scheduled from the Rollouts tab: the row appears pending, and the rollout job's
apply function makes the change at that time (UTC), as the person who scheduled it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flags.models import AuditEvent, FlagConfig
from flagsite import clock
from releases.models import ScheduledChange, ScheduledStatus
from releases.scheduled import scheduled_changes_apply
from tests.flags.builders import environments
from tests.flags.ui_support import HTMX, client_for

from .builders import model_flag
from .schedule_support import T0, schedule_data


def test_it_schedules_a_change_from_the_page(editor_user: Any) -> None:
    dev = environments()[0]
    flag = model_flag(environment=dev)
    client = client_for(editor_user)
    with clock.freeze(T0):
        # When an editor schedules "off, default new, off variant old" for 17:00 UTC
        data = schedule_data(enabled="off", default_variant="new", off_variant="old")
        r = client.post(f"/flags/{flag.key}/scheduled-changes/new/", data)
        assert r.status_code == 302, r.content.decode()
        assert r["Location"] == f"/flags/{flag.key}/rollouts/#scheduled-changes"
        change = ScheduledChange.objects.get()
        assert change.run_at == T0 + timedelta(hours=8)
        assert change.changes == {
            "enabled": False,
            "default": {"variant": "new"},
            "off_variant": "old",
        }
        # Then the tab lists it, pending
        page = client.get(r["Location"]).content.decode()
        assert f'class="scheduled-pending" id="scheduled-{change.pk}"' in page
        assert "2026-03-02 17:00" in page and "scheduled for 2026-03-02 17:00 UTC" in page
        assert "turn off · default variant new · off variant old" in page
        # And the rollout job applies it at 17:00, not before
        clock.advance(timedelta(hours=7, minutes=59))
        assert scheduled_changes_apply() == {}
        clock.advance(timedelta(minutes=1))
        assert scheduled_changes_apply() == {change.pk: "applied"}
    config = FlagConfig.objects.get(flag=flag, environment=dev)
    assert (config.enabled, config.default, config.off_variant) == (
        False,
        {"variant": "new"},
        "old",
    )
    event = AuditEvent.objects.get(action="flag.scheduled_change_applied")
    assert event.actor == editor_user and event.actor_label == "scheduled change"
    change.refresh_from_db()
    assert change.status == ScheduledStatus.APPLIED


def test_it_swaps_the_card_with_htmx(editor_user: Any) -> None:
    dev = environments()[0]
    flag = model_flag(environment=dev)
    client = client_for(editor_user)
    url = f"/flags/{flag.key}/scheduled-changes/new/"
    with clock.freeze(T0):
        r = client.post(url, schedule_data(enabled="on", comment="go"), headers=HTMX)
        assert r.status_code == 200
        html = r.content.decode()
        change = ScheduledChange.objects.get()
        assert "<html" not in html and 'id="scheduled-changes"' in html
        assert f'id="scheduled-{change.pk}"' in html
        assert 'name="comment" value=""' in html  # a fresh form for the next change
        r = client.post(url, schedule_data(run_at="2026-03-01T09:00", comment="late"), headers=HTMX)
    assert r.status_code == 400
    html = r.content.decode()
    assert "<html" not in html and "When: Must be in the future." in html
    assert 'value="late"' in html and f'id="scheduled-{change.pk}"' in html
