"""Celery tasks for feedback: thin wrappers around the functions that do the work."""

from __future__ import annotations

from celery import shared_task

from .retention import events_delete_expired


@shared_task
def events_retention_run() -> dict[str, int]:
    return events_delete_expired()
