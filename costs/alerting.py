"""The one way costs raises an alert: `alerts.api.raise_alert` (docs/alerts.md).

Kept as a single call site so tests can watch what costs raises, and so the import happens when
an alert is raised (the alerts app owns its model, channels and outbox).
"""

from __future__ import annotations

from typing import Any


def alert_raise(**fields: Any) -> Any:
    """Raise (or find the open) alert; idempotent on (source, dedupe_key). Runs inside the
    caller's transaction: if the caller rolls back, so does the alert."""
    from alerts.api import raise_alert

    return raise_alert(**fields)
