"""What people do with an alert: acknowledge it (someone is on it) and resolve it (done).

Both are recorded on the alert (who, when, an optional comment) and in the audit log.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from flags.changes import Actor, audit_record

from .models import Alert, AlertStatus

COMMENT_MAX = 2000


def _locked(alert_id: int) -> Alert:
    return Alert.objects.select_for_update().get(pk=alert_id)


def _audit(alert: Alert, user: Any, verb: str, comment: str) -> None:
    audit_record(
        actor=Actor(user=user),
        action=f"alert.{verb}",
        object_type="alert",
        object_key=str(alert.pk),
        summary=f"{verb} alert {alert.pk}: {alert.title}",
        environment=alert.environment,
        comment=comment,
    )


def alert_acknowledge(*, alert_id: int, user: Any, comment: str = "") -> Alert:
    """Open -> acknowledged. Acknowledging twice changes nothing; resolved stays resolved."""
    with transaction.atomic():
        alert = _locked(alert_id)
        if alert.status == AlertStatus.RESOLVED:
            raise ValidationError("This alert is already resolved.")
        if alert.status == AlertStatus.ACKNOWLEDGED:
            return alert
        alert.status = AlertStatus.ACKNOWLEDGED
        alert.acknowledged_at = timezone.now()
        alert.acknowledged_by = user
        alert.acknowledged_comment = comment[:COMMENT_MAX]
        alert.save(
            update_fields=["status", "acknowledged_at", "acknowledged_by", "acknowledged_comment"]
        )
        _audit(alert, user, "acknowledged", comment)
    return alert


def alert_resolve(*, alert_id: int, user: Any, comment: str = "") -> Alert:
    """Open or acknowledged -> resolved. Resolving again changes nothing."""
    with transaction.atomic():
        alert = _locked(alert_id)
        if alert.status == AlertStatus.RESOLVED:
            return alert
        alert.status = AlertStatus.RESOLVED
        alert.resolved_at = timezone.now()
        alert.resolved_by = user
        alert.resolved_comment = comment[:COMMENT_MAX]
        alert.save(update_fields=["status", "resolved_at", "resolved_by", "resolved_comment"])
        _audit(alert, user, "resolved", comment)
    return alert
