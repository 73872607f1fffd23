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

from flagsite.storable import unstorable_in

from .models import SEVERITY_RANK, UNRESOLVED, Alert, AlertStatus, Severity, Source
from .outbox import outbox_rows_escalate, outbox_rows_write

TITLE_MAX = 200


def _check(
    source: str, severity: str, title: str, details: dict[str, Any] | None, texts: dict[str, Any]
) -> None:
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
    # NUL and lone surrogates would fail the INSERT and with it the caller's transaction.
    found = unstorable_in(texts, "")
    if found:
        raise ValueError(f"{found[0]}: {found[1]}")


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

    Idempotent: while an alert with this key is open or acknowledged, raising it again at the
    same or a lower severity returns it unchanged and notifies nobody; at a *higher* severity it
    escalates (`_escalate`). A *resolved* alert stays as it is (a source checking every few
    minutes must not re-notify after a person resolved it); put the occurrence in the key
    (period, threshold, phase) or pass `reopen=True` to open a fresh alert after a resolve.
    """
    texts = {"dedupe_key": dedupe_key, "title": title, "body": body, "link": link}
    _check(source, severity, title, details, texts | {"details": details or {}})
    if len(dedupe_key) > 200 or not dedupe_key:
        raise ValueError("dedupe_key: 1-200 characters")
    if len(link) > 500:
        raise ValueError("link: at most 500 characters")  # a cut URL would lead nowhere
    # One line: the title is an email's Subject (a header cannot hold a line break).
    title = " ".join(title.split())[:TITLE_MAX]
    news: dict[str, Any] = {"severity": severity, "title": title, "body": body, "link": link}
    news["details"] = details or {}
    with transaction.atomic():
        same = Alert.objects.filter(source=source, dedupe_key=dedupe_key)
        unresolved = same.filter(status__in=UNRESOLVED).select_for_update()
        existing = unresolved.first()
        if existing is not None:
            return _escalate(existing, news)
        if not reopen:
            resolved = same.order_by("-id").first()
            if resolved is not None:
                return resolved
        try:
            with transaction.atomic():  # a savepoint: the caller's transaction survives a race
                alert = Alert.objects.create(
                    source=source, dedupe_key=dedupe_key, environment=environment, **news
                )
        except IntegrityError:
            # Another transaction raised the same alert first (alerts_one_unresolved_per_key).
            return _escalate(unresolved.get(), news)
        outbox_rows_write(alert)
    return alert


def _escalate(alert: Alert, news: dict[str, Any]) -> Alert:
    """A raise under the key of an unresolved (and locked) alert: at a higher severity, the
    alert takes the raise's severity, title, body, link and details, records the step in
    `escalations`, goes back to open if a person had acknowledged it (they must look again),
    and the channels the new severity reaches and the old one did not are notified. At the same
    or a lower severity nothing changes, so raising the higher severity again notifies nobody."""
    previous = alert.severity
    if SEVERITY_RANK[Severity(news["severity"])] <= SEVERITY_RANK[Severity(previous)]:
        return alert
    step: dict[str, Any] = {
        "at": timezone.now().isoformat(),
        "from": previous,
        "to": news["severity"],
        "title": alert.title,
    }
    if alert.status == AlertStatus.ACKNOWLEDGED:
        by = alert.acknowledged_by
        step["acknowledged_by"] = by.get_username() if by is not None else None
        step["acknowledged_at"] = (
            alert.acknowledged_at.isoformat() if alert.acknowledged_at else None
        )
        alert.status = AlertStatus.OPEN
        alert.acknowledged_at, alert.acknowledged_by, alert.acknowledged_comment = None, None, ""
    for name, value in news.items():
        setattr(alert, name, value)
    alert.escalations = [*alert.escalations, step]
    alert.save(
        update_fields=[
            *news, "escalations", "status", "acknowledged_at", "acknowledged_by",
            "acknowledged_comment",
        ]
    )  # fmt: skip
    outbox_rows_escalate(alert, previous=previous)
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
