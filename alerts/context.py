"""The navigation's badge: open alerts, counted only when a page's template asks."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from .models import Alert, AlertStatus


def open_alert_count() -> int:
    return Alert.objects.filter(status=AlertStatus.OPEN).count()


def nav(request: HttpRequest) -> dict[str, Any]:
    if not getattr(getattr(request, "user", None), "is_authenticated", False):
        return {}
    return {"alerts_open_count": SimpleLazyObject(open_alert_count)}
