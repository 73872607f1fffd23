"""The outbox: one Delivery row per (alert, channel), sent by Celery, retried with backoff.

Guarantees (docs/alerts.md, "Guarantees"):
- a row is written in the alert's transaction, so an alert is never without its deliveries;
- after commit each row is handed to Celery; if the broker refuses, the row stays `pending` and
  beat's `outbox_dispatch_due` (every minute) hands it over again;
- a worker *claims* a row (select_for_update(skip_locked=True), then status `sending` with a
  lease) before sending, so two workers given the same row never both send it;
- each channel has its own row and task: a failing receiver delays nobody else.
- over its channel's hourly limit a row is held, and sent in the channel's next digest
  (alerts/digest.py; a Digest is an outbox row too, claimed and sent by the same functions).
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q, QuerySet

from flagsite import clock

from .models import (
    SEVERITY_RANK,
    Alert,
    AlertStatus,
    Channel,
    Delivery,
    DeliveryStatus,
    OutboxRow,
    Severity,
    Source,
)

log = logging.getLogger(__name__)

Row = TypeVar("Row", bound=OutboxRow)

if TYPE_CHECKING:
    from .channels import SendResult

DISPATCH_BATCH = 500


def retry_delay(attempts: int) -> timedelta:
    """Exponential backoff after the n-th failed attempt: base, 2x base, 4x base ... capped."""
    base = settings.FLAGSITE_ALERTS_RETRY_BASE_SECONDS
    cap = settings.FLAGSITE_ALERTS_RETRY_MAX_SECONDS
    return timedelta(seconds=min(cap, base * 2 ** max(0, attempts - 1)))


def lease_length() -> timedelta:
    # Longer than any send can take (every send has a timeout), so a live worker never loses it.
    return timedelta(seconds=3 * settings.FLAGSITE_ALERTS_SEND_TIMEOUT + 60)


def channels_for(source: str, severity: str) -> QuerySet[Channel]:
    """The enabled channels subscribed to this source at this severity or below it."""
    ranks = [s for s, rank in SEVERITY_RANK.items() if rank <= SEVERITY_RANK[Severity(severity)]]
    return Channel.objects.filter(
        enabled=True, subscriptions__source=source, subscriptions__min_severity__in=ranks
    ).distinct()


def outbox_rows_write(alert: Alert) -> list[int]:
    """Write the alert's outbox rows (in the caller's transaction) and hand them to Celery when
    it commits."""
    return _rows_write(alert, channels_for(alert.source, alert.severity))


def _rows_write(alert: Alert, channels: QuerySet[Channel]) -> list[int]:
    now = clock.now()
    rows = Delivery.objects.bulk_create(
        [Delivery(alert=alert, channel=channel, next_attempt_at=now) for channel in channels]
    )
    ids = [row.pk for row in rows]
    if ids:
        transaction.on_commit(lambda: deliveries_dispatch(ids))
    return ids


def outbox_rows_escalate(alert: Alert, *, previous: str) -> list[int]:
    """After `alert` went from `previous` to a higher severity (in the caller's transaction):
    outbox rows for the channels the new severity reaches and `previous` did not. A channel
    that already has a row for this alert (its subscription changed since) gets no second one:
    one delivery per (alert, channel)."""
    reached = channels_for(alert.source, previous).values("pk")
    channels = channels_for(alert.source, alert.severity).exclude(pk__in=reached)
    return _rows_write(alert, channels.exclude(deliveries__alert=alert))


def window_start_of(at: datetime) -> datetime:
    """A channel's rate-limit window holding `at`: its clock hour (UTC; alerts/digest.py)."""
    return at.replace(minute=0, second=0, microsecond=0)


def channel_test_raise(*, channel: Channel) -> Alert:
    """A test alert for one channel (from its settings page): checks the receiver end to end.
    It is born resolved, so it never counts as open, and goes to this channel only."""
    now = clock.now()
    with transaction.atomic():
        alert = Alert.objects.create(
            source=Source.SYSTEM,
            dedupe_key=f"channel-test:{channel.pk}:{uuid.uuid4().hex}",
            severity=Severity.INFO,
            title=f"Test alert for channel {channel.name}",
            body="Sent from the channel's settings page to check that the receiver gets alerts.",
            details={"test": True},
            status=AlertStatus.RESOLVED,
            resolved_at=now,
            resolved_comment="channel test",
        )
        # Admitted already: a person checking a receiver is never held back by the rate limit
        # (it still counts in the window).
        window = window_start_of(clock.now())
        row = Delivery.objects.create(
            alert=alert, channel=channel, next_attempt_at=now, window_start=window
        )
        transaction.on_commit(lambda: deliveries_dispatch([row.pk]))
    return alert


def deliveries_dispatch(ids: list[int], *, countdown: float = 0) -> int:
    """Hand deliveries to Celery; returns how many the broker took. What the broker refuses
    stays in the outbox for `outbox_dispatch_due`."""
    from .tasks import delivery_send

    return tasks_hand_over(delivery_send, ids, countdown=countdown)


def tasks_hand_over(task: Any, ids: list[int], *, countdown: float = 0) -> int:
    """Queue `task(id)` for each id without waiting on a dead broker; returns how many the
    broker took."""
    from flagsite.celery import app

    if not ids:
        return 0
    sent = 0
    try:
        with app.connection_for_write() as connection:
            # One quick try (connect timeout: broker_connection_timeout), not kombu's default
            # retries: a dead broker must not hold up the request that raised the alert.
            connection.ensure_connection(max_retries=1, interval_start=0, interval_step=0)
            for row_id in ids:
                task.apply_async((row_id,), countdown=countdown, connection=connection, retry=False)
                sent += 1
    except Exception as exc:  # kombu.OperationalError, redis.ConnectionError, ...
        log.warning(
            "alerts: broker refused %d %s tasks, kept in the outbox: %s",
            len(ids) - sent,
            task.name,
            exc,
        )
    return sent


def rows_due(now: datetime) -> Q:
    """Outbox rows to send now: pending and due, or claimed by a worker whose lease ran out."""
    return Q(status=DeliveryStatus.PENDING, next_attempt_at__lte=now) | Q(
        status=DeliveryStatus.SENDING, lease_until__lt=now
    )


def outbox_dispatch_due() -> int:
    """Beat, every minute: hand every due row (pending, or claimed by a worker that died) to
    Celery again. Sending twice is harmless: `delivery_attempt` claims before it sends."""
    ids = list(
        Delivery.objects.filter(rows_due(clock.now()))
        .order_by("next_attempt_at")
        .values_list("id", flat=True)[:DISPATCH_BATCH]
    )
    return deliveries_dispatch(ids)


def row_claim(
    model: type[Row], row_id: int, *, admit: Callable[[Row], bool] | None = None
) -> Row | None:
    """Claim a due outbox row (a Delivery or a Digest) for this worker: status `sending` with a
    lease and one more attempt. None if it is not due or another worker has it. `admit` may
    refuse the locked row (it is returned unclaimed, as `admit` left it)."""
    now = clock.now()
    rows = model._default_manager
    with transaction.atomic():
        row = rows.select_for_update(skip_locked=True).filter(rows_due(now), pk=row_id).first()
        if row is None:
            return None
        if admit is not None and not admit(row):
            return row
        # Conditional as well as locked: SQLite has no row locks, and its writes are serialised.
        claimed = rows.filter(rows_due(now), pk=row_id).update(
            status=DeliveryStatus.SENDING,
            lease_until=now + lease_length(),
            attempts=F("attempts") + 1,
        )
        if not claimed:
            return None
    return row


def delivery_claim(delivery_id: int) -> Delivery | None:
    """Claim a due delivery for this worker, or None if it is not due or another worker has it.
    At its first claim a row is admitted to its channel's rate-limit window, or held (returned
    with status `held`, unclaimed)."""
    from .digest import delivery_admit

    row = row_claim(
        Delivery, delivery_id, admit=lambda d: d.window_start is not None or delivery_admit(d)
    )
    if row is None or row.status == DeliveryStatus.HELD:
        return row
    return Delivery.objects.select_related("alert", "channel", "alert__environment").get(
        pk=delivery_id
    )


def delivery_attempt(*, delivery_id: int) -> str:
    """Make one attempt at a delivery, record it, and schedule the next one if it failed.
    Returns the delivery's status after the attempt, or "skipped"."""
    from .channels import channel_send

    delivery = delivery_claim(delivery_id)
    if delivery is None:
        return "skipped"
    if delivery.status == DeliveryStatus.HELD:
        return DeliveryStatus.HELD
    delay = row_send(delivery, lambda: channel_send(delivery), tries=delivery.tries)
    if delay is not None:
        deliveries_dispatch([delivery.pk], countdown=delay.total_seconds())
    return delivery.status


def row_send(
    row: Row,
    send: Callable[[], SendResult],
    *,
    tries: Any,
    finish: Callable[[Row], object] | None = None,
) -> timedelta | None:
    """Send a claimed outbox row once, record the attempt in `tries` (the row's attempts) and
    the outcome on the row (then `finish(row)`, in the same transaction). Returns the delay
    before the next attempt if it failed and may be retried."""
    started_at = clock.now()
    start = time.monotonic()
    result = send()
    duration_ms = int((time.monotonic() - start) * 1000)
    delay = None
    with transaction.atomic():
        tries.create(
            number=row.attempts,
            started_at=started_at,
            duration_ms=duration_ms,
            ok=result.ok,
            status_code=result.status_code,
            error=result.error[:500],
            response_excerpt=result.excerpt[:200],
        )
        row.lease_until = None
        row.last_error = result.error[:500]
        if result.ok:
            row.status = DeliveryStatus.DELIVERED
            row.delivered_at = clock.now()
        elif result.final or row.attempts >= settings.FLAGSITE_ALERTS_MAX_ATTEMPTS:
            row.status = DeliveryStatus.FAILED
        else:
            delay = retry_delay(row.attempts)
            row.status = DeliveryStatus.PENDING
            row.next_attempt_at = clock.now() + delay
        row.save(
            update_fields=["status", "lease_until", "last_error", "delivered_at", "next_attempt_at"]
        )
        if finish is not None:
            finish(row)
    return delay
