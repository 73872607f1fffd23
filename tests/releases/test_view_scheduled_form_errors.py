"""Bad input on the "Schedule a change" form: 400, the form again with the values kept and an
error naming the field and the problem; nothing is scheduled and nothing already scheduled is
lost (the checks are scheduled_change_create's, as for the API)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from flagsite import clock
from releases.models import ScheduledChange
from releases.scheduled import scheduled_change_create
from tests.flags.builders import environments
from tests.flags.ui_support import client_for

from .builders import model_flag
from .schedule_support import T0, schedule_data

CASES = [
    ({"run_at": "2026-03-02T08:59"}, "When: Must be in the future."),
    ({"run_at": "next tuesday"}, "When: &#x27;next tuesday&#x27; is not a date and time"),
    ({"run_at": ""}, "When: Pick a date and time."),
    ({"run_at": "2027-03-03T09:00"}, "When: Must be at most 365 days ahead."),
    (
        {"default_variant": "gpt-9"},
        "Default variant: &#x27;gpt-9&#x27; is not a variant of this flag.",
    ),
    ({"off_variant": "x"}, "Off variant: &#x27;x&#x27; is not a variant of this flag."),
    ({"enabled": "", "default_variant": ""}, "What to change: Nothing to change."),
    (
        {"environment": "prod", "comment": ""},
        "Comment: Changes that reach production need a comment",
    ),
]


@pytest.mark.parametrize(("fields", "error"), CASES)
def test_it_names_the_field_and_keeps_the_values(
    admin_user: Any, actor: Any, fields: dict[str, str], error: str
) -> None:
    dev, prod = environments()
    flag = model_flag(environment=dev)
    client = client_for(admin_user)
    data = schedule_data(enabled="off", comment="kept comment") | fields
    with clock.freeze(T0):
        earlier = scheduled_change_create(
            flag=flag,
            environment=prod,
            changes={"enabled": True},
            run_at=T0 + timedelta(days=1),
            actor=actor,
            comment="already there",
        )
        r = client.post(f"/flags/{flag.key}/scheduled-changes/new/", data)
    html = r.content.decode()
    assert r.status_code == 400 and error in html, html
    assert '<ul class="errorlist field-errors schedule-errors" role="alert">' in html
    assert f'value="{data["run_at"]}"' in html and f'value="{data["comment"]}"' in html
    assert ('<option value="off" selected>' in html) == (data["enabled"] == "off")
    assert list(ScheduledChange.objects.all()) == [earlier]
    assert f'id="scheduled-{earlier.pk}"' in html
