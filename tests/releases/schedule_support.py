"""The Rollouts tab's "Schedule a change" form as a browser posts it (views_scheduled.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def schedule_data(
    *, environment: str = "dev", run_at: str = "2026-03-02T17:00", **fields: Any
) -> dict[str, Any]:
    """The form's fields, every choice left as it is unless given."""
    return {
        "environment": environment,
        "run_at": run_at,
        "enabled": "",
        "default_variant": "",
        "off_variant": "",
        "comment": "",
        **fields,
    }
