"""Small builders for alert tests."""

from __future__ import annotations

from collections.abc import Callable
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


def two_transactions(first: Callable[[], Any], second: Callable[[], Any]) -> list[Any]:
    """Run `first` and `second` in two threads, each in its own transaction: `first` keeps its
    transaction open for half a second after it ran, and `second` runs meanwhile, so it must
    wait for it (a row lock, or a unique index). Returns their results."""
    import threading
    import time

    from django.db import connection, transaction

    first_done = threading.Event()
    results: list[Any] = [None, None]

    def run_first() -> None:
        try:
            with transaction.atomic():
                results[0] = first()
                first_done.set()
                time.sleep(0.5)  # still uncommitted while the second one runs
        finally:
            connection.close()

    def run_second() -> None:
        try:
            first_done.wait(10)
            with transaction.atomic():
                results[1] = second()
        finally:
            connection.close()

    threads = [threading.Thread(target=run_first), threading.Thread(target=run_second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def at_once(*calls: Callable[[], Any]) -> list[Any]:
    """Run the calls in threads released together (two workers given the same job), each with
    its own database connection. Returns their results in order."""
    import threading

    from django.db import connection

    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(index: int) -> None:
        try:
            barrier.wait()
            results[index] = calls[index]()
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results
