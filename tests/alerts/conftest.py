from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture(autouse=True)
def _alerts_test_settings(settings: Any) -> None:
    # The receivers the tests start listen on loopback.
    settings.FLAGSITE_ALERTS_WEBHOOK_ALLOW_PRIVATE = True
    settings.FLAGSITE_ALERTS_SEND_TIMEOUT = 5


@pytest.fixture(autouse=True)
def dispatched(request: Any, monkeypatch: Any) -> list[tuple[int, float]]:
    """What was handed to Celery, as (delivery id, countdown): no test but the real-worker ones
    puts messages on a broker. Modules that set REAL_BROKER = True get the real thing."""
    calls: list[tuple[int, float]] = []
    if getattr(request.module, "REAL_BROKER", False):
        return calls
    from alerts import tasks

    def record(args: tuple[int], countdown: float = 0, **kw: Any) -> None:
        calls.append((args[0], countdown))

    monkeypatch.setattr(tasks.delivery_send, "apply_async", record)
    monkeypatch.setattr(tasks.digest_send, "apply_async", record)
    return calls
