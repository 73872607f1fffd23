"""Small builders for alert tests."""

from __future__ import annotations

from typing import Any

from alerts.models import Channel, Subscription
from alerts.signing import secret_generate


def channel_webhook(
    url: str, *, sources: dict[str, str] | None = None, name: str = "hooks", **extra: Any
) -> Channel:
    """A webhook channel subscribed to `sources` ({source: min severity}; default every source
    at info)."""
    channel = Channel.objects.create(
        name=name, kind="webhook", url=url, secret=secret_generate(), **extra
    )
    _subscribe(channel, sources)
    return channel


def channel_email(
    recipients: str, *, sources: dict[str, str] | None = None, name: str = "mail"
) -> Channel:
    channel = Channel.objects.create(name=name, kind="email", recipients=recipients)
    _subscribe(channel, sources)
    return channel


def _subscribe(channel: Channel, sources: dict[str, str] | None) -> None:
    if sources is None:
        sources = dict.fromkeys(["budget", "anomaly", "rollout", "experiment", "system"], "info")
    for source, severity in sources.items():
        Subscription.objects.create(channel=channel, source=source, min_severity=severity)


def budget_alert(**overrides: Any) -> Any:
    from alerts.api import raise_alert

    args: dict[str, Any] = {
        "source": "budget",
        "dedupe_key": "budget:1:2026-12-01:80",
        "severity": "warning",
        "title": "Budget 'all' at 80 %",
        "body": "Spent $80.00 of $100.00",
        "link": "/costs/budgets/1/",
    }
    return raise_alert(**(args | overrides))
