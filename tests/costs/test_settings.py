"""The costs settings: beat runs both checks every 5 minutes by default, and a time zone name
that is not an IANA zone stops the process at start instead of mis-dating every budget."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]


def test_beat_runs_the_budget_and_anomaly_checks_every_5_minutes() -> None:
    schedule = {e["task"]: e["schedule"] for e in settings.CELERY_BEAT_SCHEDULE.values()}
    assert schedule["costs.tasks.budgets_check_run"] == 300.0
    assert schedule["costs.tasks.anomalies_check_run"] == 300.0


def test_an_unknown_time_zone_is_refused_at_start() -> None:
    env = os.environ | {"FLAGSITE_COSTS_TIME_ZONE": "Mars/Olympus_Mons", "DEBUG": "true"}
    proc = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=ROOT,
        env=env | {"DJANGO_SETTINGS_MODULE": "flagsite.settings"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode != 0
    assert "FLAGSITE_COSTS_TIME_ZONE='Mars/Olympus_Mons' is not an IANA time zone" in proc.stderr
