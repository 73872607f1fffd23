"""The API and the page refuse the same plans with the same words: at most 20 phases and 20
gates (releases/validation.py), percentages in (0, 100]."""

from __future__ import annotations

import json
from typing import Any

from releases.models import RolloutPlan
from tests.flags.builders import environments
from tests.flags.ui_support import client_for

from .builders import model_flag
from .form_support import new_plan_data

TOO_MANY = "At most 20 phases (got 21)."
ZERO = "A percentage is more than 0 and at most 100."


def test_it_refuses_21_phases_and_a_zero_percentage_on_both_paths(admin_user: Any) -> None:
    dev = environments()[0]
    flag = model_flag(environment=dev)
    client = client_for(admin_user)
    api = f"/api/v1/flags/{flag.key}/environments/dev/rollouts"
    for phases, message, field in (
        (
            [{"percentage": i + 1, "min_duration_seconds": 60} for i in range(21)],
            TOO_MANY,
            "phases",
        ),
        ([{"percentage": 0}], ZERO, "phases[0].percentage"),
    ):
        body = {"variant": "new", "replaces": "old", "phases": phases}
        r = client.post(api, json.dumps(body), content_type="application/json")
        assert r.status_code == 400 and message in json.dumps(r.json()), r.content
        rows = [(f"{p['percentage']} %", "1") for p in phases]
        page = client.post(f"/flags/{flag.key}/rollouts/new/", new_plan_data(rows, []))
        assert page.status_code == 400 and message in page.content.decode()
        assert field in json.dumps(r.json())
    assert not RolloutPlan.objects.exists()
