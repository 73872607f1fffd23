"""Deleting raw events older than FEEDBACK_RETENTION_DAYS (a Celery beat task calls this).

Raw events are exposures, LLM calls and implicit signals. Explicit feedback is kept: people
triage it and it is small. Rows are deleted by event time in bounded chunks per environment, so
no statement holds locks for long and the (environment, timestamp) indexes serve the scan.

Ids must be remembered for at least 7 days after receipt (retries stay idempotent). An event's
timestamp may be up to 7 days older than its receipt, so deleting by event time never goes below
14 days: a row deleted at 14 days of event time was received at least 7 days earlier.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone

from flags.models import Environment

from .models import Exposure, ImplicitSignal, LlmCall
from .validation import MAX_AGE

IDEMPOTENCY_WINDOW = timedelta(days=7)
MIN_RETENTION = IDEMPOTENCY_WINDOW + MAX_AGE
RAW_EVENT_MODELS: tuple[type[models.Model], ...] = (Exposure, LlmCall, ImplicitSignal)
CHUNK = 5_000


def retention_cutoff(*, now: datetime, days: int) -> datetime:
    return now - max(timedelta(days=days), MIN_RETENTION)


def events_delete_expired(
    *, now: datetime | None = None, days: int | None = None, chunk: int = CHUNK
) -> dict[str, int]:
    """Delete raw events older than `days` (default FEEDBACK_RETENTION_DAYS, at least 14).
    Returns the number of rows deleted per table."""
    now = now or timezone.now()
    days = settings.FEEDBACK_RETENTION_DAYS if days is None else days
    cutoff = retention_cutoff(now=now, days=days)
    deleted: dict[str, int] = {}
    env_ids = list(Environment.objects.values_list("id", flat=True))
    for model in RAW_EVENT_MODELS:
        total = 0
        manager = model._default_manager
        for env_id in env_ids:
            while True:
                pks = list(
                    manager.filter(environment_id=env_id, timestamp__lt=cutoff).values_list(
                        "pk", flat=True
                    )[:chunk]
                )
                if not pks:
                    break
                total += manager.filter(pk__in=pks).delete()[0]
        deleted[model._meta.model_name or model.__name__] = total
    return deleted
