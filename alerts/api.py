"""What every source calls: `raise_alert` (and `resolve_alert` when a condition clears).

    from alerts.api import raise_alert
    raise_alert(source="budget", dedupe_key=f"budget:{b.id}:{period_start}:80",
                severity="warning", title="Budget 'prod' at 80 %", link=f"/costs/budgets/{b.id}/")

The alert row and its outbox rows are written in the caller's transaction; delivery is handed to
Celery when that transaction commits, and stays in the outbox (beat retries every minute) if the
broker cannot take it. See docs/alerts.md.
"""

from __future__ import annotations

import json
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from .models import UNRESOLVED, Alert, AlertStatus, Severity, Source
from .outbox import outbox_rows_write

TITLE_MAX = 200


def _check(source: str, severity: str, title: str, details: dict[str, Any] | None) -> None:
    if source not in Source.values:
        raise ValueError(f"source: {source!r} is not one of {', '.join(Source.values)}")
    if severity not in Severity.values:
        raise ValueError(f"severity: {severity!r} is not one of {', '.join(Severity.values)}")
    if not title.strip():
        raise ValueError("title: must not be empty")
    if details is not None:
        if not isinstance(details, dict):
            raise ValueError("details: must be a dict")
        json.dumps(details)  # TypeError now, in the caller, rather than at save time


def raise_alert(
    *,
    source: str,
    dedupe_key: str,
    severity: str,
    title: str,
    body: str = "",
    link: str = "",
    details: dict[str, Any] | None = None,
    environment: Any = None,
    reopen: bool = False,
) -> Alert:
    """Open an alert, or return the one already raised under (source, dedupe_key).

    Idempotent: while an alert with this key is open or acknowledged, raising it again returns it
    unchanged and notifies nobody. A *resolved* alert also stays as it is (a source checking every
    few minutes must not re-notify after a person resolved it); put the occurrence in the key
    (period, threshold, phase) or pass `reopen=True` to open a fresh alert after a resolve.
    """
    _check(source, severity, title, details)
    if len(dedupe_key) > 200 or not dedupe_key:
        raise ValueError("dedupe_key: 1-200 characters")
    with transaction.atomic():
        same = Alert.objects.filter(source=source, dedupe_key=dedupe_key)
        existing = same.filter(status__in=UNRESOLVED).first()
        if existing is not None:
            return existing
        if not reopen:
            resolved = same.order_by("-id").first()
            if resolved is not None:
                return resolved
        try:
            with transaction.atomic():  # a savepoint: the caller's transaction survives a race
                alert = Alert.objects.create(
                    source=source,
                    dedupe_key=dedupe_key,
                    severity=severity,
                    title=title.strip()[:TITLE_MAX],
                    body=body,
                    link=link[:500],
                    details=details or {},
                    environment=environment,
                )
        except IntegrityError:
            # Another transaction raised the same alert first (alerts_one_unresolved_per_key).
            return same.get(status__in=UNRESOLVED)
        outbox_rows_write(alert)
    return alert


def resolve_alert(*, source: str, dedupe_key: str, comment: str = "") -> Alert | None:
    """A source says its condition cleared: resolve the unresolved alert with this key, if any.
    No notification is sent for a resolve."""
    with transaction.atomic():
        alert = (
            Alert.objects.select_for_update()
            .filter(source=source, dedupe_key=dedupe_key, status__in=UNRESOLVED)
            .first()
        )
        if alert is None:
            return None
        alert.status = AlertStatus.RESOLVED
        alert.resolved_at = timezone.now()
        alert.resolved_comment = comment or "resolved by its source"
        alert.save(update_fields=["status", "resolved_at", "resolved_comment"])
    return alert
