"""Alerts for rollouts go through the one alert system (`alerts.api.raise_alert`).

Until the `alerts` app is installed, the plan's own timeline (PlanEvent, shown on the flag page)
is the in-app notice and the breach is logged at ERROR; nothing else is built here, so the
alert model stays in one place (SHARED_CONTRACTS.md)."""

from __future__ import annotations

import logging
from typing import Any

from django.apps import apps

log = logging.getLogger("releases")


def rollout_alert(
    *,
    dedupe_key: str,
    severity: str,
    title: str,
    body: str,
    link: str,
    details: dict[str, Any],
    environment: Any,
) -> Any:
    log.error("%s: %s", title, body)
    if not apps.is_installed("alerts"):
        return None
    from alerts.api import raise_alert  # type: ignore[import-not-found,unused-ignore]

    return raise_alert(
        source="rollout",
        dedupe_key=dedupe_key,
        severity=severity,
        title=title,
        body=body,
        link=link,
        details=details,
        environment=environment,
    )
