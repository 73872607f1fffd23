"""The navigation's badge (open alerts, counted only when a page's template asks) and the
dashboard's "Recent alerts" box (the newest open alerts)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from .models import Alert, AlertStatus


def open_alert_count() -> int:
    return Alert.objects.filter(status=AlertStatus.OPEN).count()


def open_alerts_newest(*, limit: int = 5) -> QuerySet[Alert]:
    """The newest open alerts (acknowledged ones are someone's already), as the badge counts."""
    return Alert.objects.filter(status=AlertStatus.OPEN).select_related("environment")[:limit]


def nav(request: HttpRequest) -> dict[str, Any]:
    if not getattr(getattr(request, "user", None), "is_authenticated", False):
        return {}
    return {"alerts_open_count": SimpleLazyObject(open_alert_count)}
