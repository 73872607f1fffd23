"""Celery tasks for feedback: thin wrappers around the functions that do the work."""

from __future__ import annotations

from celery import shared_task

from delivery.counts import evaluation_counts_compact

from .retention import events_delete_expired


@shared_task
def events_retention_run() -> dict[str, int]:
    deleted = events_delete_expired()
    deleted["evaluationcount"] = evaluation_counts_compact()
    return deleted
