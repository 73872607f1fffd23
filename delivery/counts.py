"""Keeping `EvaluationCount` bounded: hourly rows older than
`FLAGSITE_EVALUATION_HOURLY_DAYS` (default 35, never below 31) collapse into one row per
environment, flag and variant (docs/feedback.md, "Retention").

The usage view reads hourly rows for at most the last 30 days, so older hours only matter as
a total and for "last evaluated" (stale-flag detection). The collapsed row keeps both: its
`count` is the sum of the rows it replaces, its `last_at` their latest evaluation, and its
`hour` the latest of their hours, so `last_evaluated(since=...)`'s filter on `hour` still finds
it whenever its `last_at` is in the window. Without this the table grows by one row per
environment, flag, variant and hour served, for ever.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, Max, Sum
from django.utils import timezone

from .models import EvaluationCount

log = logging.getLogger(__name__)

# The usage view's longest period is 30 days (feedback.usage.PERIODS), plus the current day.
MIN_HOURLY_DAYS = 31


def hourly_cutoff(*, now: datetime, days: int) -> datetime:
    """Hours before this collapse (an hour boundary, at least MIN_HOURLY_DAYS back)."""
    cutoff = now - timedelta(days=max(days, MIN_HOURLY_DAYS))
    return cutoff.replace(minute=0, second=0, microsecond=0)


def evaluation_counts_compact(*, now: datetime | None = None, days: int | None = None) -> int:
    """Collapse each (environment, flag, variant)'s rows older than the cutoff into one row;
    returns the number of rows removed. One short transaction per key; a key whose rows change
    meanwhile (a unique clash with a row written at the same time) is left for the next run."""
    now = now or timezone.now()
    days = settings.FLAGSITE_EVALUATION_HOURLY_DAYS if days is None else days
    cutoff = hourly_cutoff(now=now, days=days)
    old = EvaluationCount.objects.filter(hour__lt=cutoff)
    keys = list(
        old.values("environment_id", "flag_key", "variant_key")
        .annotate(rows=Count("id"))
        .filter(rows__gt=1)
        .values_list("environment_id", "flag_key", "variant_key")
        .order_by()
    )
    removed = 0
    for env_id, flag_key, variant_key in keys:
        rows = old.filter(environment_id=env_id, flag_key=flag_key, variant_key=variant_key)
        try:
            with transaction.atomic():
                ids = list(rows.select_for_update().values_list("id", flat=True))
                if len(ids) < 2:
                    continue
                kept = EvaluationCount.objects.filter(id__in=ids)
                total = kept.aggregate(n=Sum("count"), last=Max("last_at"), hour=Max("hour"))
                deleted, _ = kept.delete()
                EvaluationCount.objects.create(
                    environment_id=env_id,
                    flag_key=flag_key,
                    variant_key=variant_key,
                    hour=total["hour"],
                    count=total["n"] or 0,
                    last_at=total["last"],
                )
                removed += deleted - 1
        except IntegrityError:
            log.warning(
                "evaluation counts: %s/%s/%s changed meanwhile", env_id, flag_key, variant_key
            )
    return removed
