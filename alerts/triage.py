"""What people do with an alert: acknowledge it (someone is on it) and resolve it (done).

The one place that decides who may triage (`alert_triage_check`: the UI's views and the API
call it before reading a request's body, and both functions here check again) and that writes
the audit. Both steps are recorded on the alert (who, when, an optional comment) and in the
audit log.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from flags import policy
from flags.changes import Actor, audit_record

from .models import Alert, AlertStatus

COMMENT_MAX = 2000


def alert_triage_check(*, user: Any) -> None:
    """Everyone signed in reads alerts; editors and admins acknowledge and resolve them.
    Raises Django's PermissionDenied (403 in the UI and the API)."""
    policy.require_write(user)


def _locked(alert_id: int) -> Alert:
    return Alert.objects.select_for_update().get(pk=alert_id)


def _audit(alert: Alert, actor: Actor, verb: str, comment: str) -> None:
    audit_record(
        actor=actor,
        action=f"alert.{verb}",
        object_type="alert",
        object_key=str(alert.pk),
        summary=f"{verb} alert {alert.pk}: {alert.title}",
        environment=alert.environment,
        comment=comment,
    )


def alert_acknowledge(
    *, alert_id: int, user: Any, comment: str = "", actor_label: str = ""
) -> Alert:
    """Open -> acknowledged. Acknowledging twice changes nothing; a resolved alert cannot be
    acknowledged (ValidationError). `actor_label` names the credential (a personal token)."""
    alert_triage_check(user=user)
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
        _audit(alert, Actor(user=user, label=actor_label), "acknowledged", comment)
    return alert


def alert_resolve(*, alert_id: int, user: Any, comment: str = "", actor_label: str = "") -> Alert:
    """Open or acknowledged -> resolved. A resolved alert cannot be resolved again
    (ValidationError: someone, or its source, resolved it first; nothing is written)."""
    alert_triage_check(user=user)
    with transaction.atomic():
        alert = _locked(alert_id)
        if alert.status == AlertStatus.RESOLVED:
            raise ValidationError("This alert is already resolved.")
        alert.status = AlertStatus.RESOLVED
        alert.resolved_at = timezone.now()
        alert.resolved_by = user
        alert.resolved_comment = comment[:COMMENT_MAX]
        alert.save(update_fields=["status", "resolved_at", "resolved_by", "resolved_comment"])
        _audit(alert, Actor(user=user, label=actor_label), "resolved", comment)
    return alert
