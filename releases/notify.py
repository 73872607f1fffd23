"""Alerts for rollouts go through the one alert system (`alerts.api.raise_alert`): in-app,
email and signed webhooks per the channels people subscribed (docs/alerts.md)."""

from __future__ import annotations

import logging
from typing import Any

from alerts.api import raise_alert

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
