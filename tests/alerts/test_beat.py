"""Beat re-dispatches the outbox every minute."""

from __future__ import annotations

from typing import Any


def test_beat_runs_the_outbox_job_every_minute(settings: Any) -> None:
    from flagsite.celery import app

    entry = settings.CELERY_BEAT_SCHEDULE["alerts-outbox"]
    assert entry == {"task": "alerts.tasks.outbox_dispatch", "schedule": 60.0}
    app.loader.import_default_modules()
    assert "alerts.tasks.outbox_dispatch" in app.tasks
    assert "alerts.tasks.delivery_send" in app.tasks
    assert app.tasks["alerts.tasks.delivery_send"].acks_late
