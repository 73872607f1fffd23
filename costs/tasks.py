"""Celery tasks for costs: thin wrappers around the functions that do the work (beat runs both
every FLAGSITE_BUDGET_CHECK_SECONDS, 300 by default)."""

from __future__ import annotations

from celery import shared_task

from .anomalies import anomalies_check
from .budgets import budgets_check


@shared_task(acks_late=True, reject_on_worker_lost=True)
def budgets_check_run() -> dict[str, int]:
    return budgets_check()


@shared_task(acks_late=True, reject_on_worker_lost=True)
def anomalies_check_run() -> int:
    return len(anomalies_check())
