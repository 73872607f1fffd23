"""Celery tasks for rollouts: thin, on the `rollouts` queue (settings.CELERY_TASK_ROUTES), acked
late so a worker killed mid-check leaves the message for the next one (the check is idempotent)."""

from __future__ import annotations

from celery import shared_task

from .checks import rollouts_check
from .scheduled import scheduled_changes_apply


@shared_task(acks_late=True, reject_on_worker_lost=True)
def rollouts_check_all() -> dict[str, dict[int, str]]:
    """Beat, every minute: due scheduled changes, then every active plan."""
    return {"scheduled": scheduled_changes_apply(), "plans": rollouts_check()}


@shared_task(acks_late=True, reject_on_worker_lost=True)
def rollouts_check_environment(environment_id: int) -> dict[int, str]:
    return rollouts_check(environment_id=environment_id)
