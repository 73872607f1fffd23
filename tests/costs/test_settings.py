"""The costs settings: beat runs both checks every 5 minutes by default, and a time zone name
that is not an IANA zone stops the process at start instead of mis-dating every budget."""

from __future__ import annotations

import os

from django.conf import settings

from tests.startup import django_setup_in_subprocess


def test_beat_runs_the_budget_and_anomaly_checks_every_5_minutes() -> None:
    schedule = {e["task"]: e["schedule"] for e in settings.CELERY_BEAT_SCHEDULE.values()}
    assert schedule["costs.tasks.budgets_check_run"] == 300.0
    assert schedule["costs.tasks.anomalies_check_run"] == 300.0


def test_an_unknown_time_zone_is_refused_at_start() -> None:
    env = os.environ | {"FLAGSITE_COSTS_TIME_ZONE": "Mars/Olympus_Mons", "DEBUG": "true"}
    proc = django_setup_in_subprocess(env)
    assert proc.returncode != 0
    assert "FLAGSITE_COSTS_TIME_ZONE='Mars/Olympus_Mons' is not an IANA time zone" in proc.stderr
