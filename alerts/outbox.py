"""The outbox: one Delivery row per (alert, channel), sent by Celery, retried with backoff.

Guarantees (docs/alerts.md, "Guarantees"):
- a row is written in the alert's transaction, so an alert is never without its deliveries;
- after commit each row is handed to Celery; if the broker refuses, the row stays `pending` and
  beat's `outbox_dispatch_due` (every minute) hands it over again;
- a worker *claims* a row (select_for_update(skip_locked=True), then status `sending` with a
  lease) before sending, so two workers given the same row never both send it;
- each channel has its own row and task: a failing receiver delays nobody else.
"""

from __future__ import annotations

import logging
import time
import uuid
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from .models import (
    SEVERITY_RANK,
    Alert,
    AlertStatus,
    Channel,
    Delivery,
    DeliveryAttempt,
    DeliveryStatus,
    Severity,
    Source,
)

log = logging.getLogger(__name__)

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
    now = timezone.now()
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


def channel_test_raise(*, channel: Channel) -> Alert:
    """A test alert for one channel (from its settings page): checks the receiver end to end.
    It is born resolved, so it never counts as open, and goes to this channel only."""
    now = timezone.now()
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
        row = Delivery.objects.create(alert=alert, channel=channel, next_attempt_at=now)
        transaction.on_commit(lambda: deliveries_dispatch([row.pk]))
    return alert


def deliveries_dispatch(ids: list[int], *, countdown: float = 0) -> int:
    """Hand deliveries to Celery; returns how many the broker took. What the broker refuses
    stays in the outbox for `outbox_dispatch_due`."""
    from flagsite.celery import app

    from .tasks import delivery_send

    if not ids:
        return 0
    sent = 0
    try:
        with app.connection_for_write() as connection:
            # One quick try (connect timeout: broker_connection_timeout), not kombu's default
            # retries: a dead broker must not hold up the request that raised the alert.
            connection.ensure_connection(max_retries=1, interval_start=0, interval_step=0)
            for delivery_id in ids:
                # `connection` is a documented apply_async option the stubs lack.
                delivery_send.apply_async(  # type: ignore[call-arg]
                    (delivery_id,), countdown=countdown, connection=connection, retry=False
                )
                sent += 1
    except Exception as exc:  # kombu.OperationalError, redis.ConnectionError, ...
        log.warning(
            "alerts: broker refused %d deliveries, kept in the outbox: %s", len(ids) - sent, exc
        )
    return sent


def _due(now: object) -> Q:
    return Q(status=DeliveryStatus.PENDING, next_attempt_at__lte=now) | Q(
        status=DeliveryStatus.SENDING, lease_until__lt=now
    )


def outbox_dispatch_due() -> int:
    """Beat, every minute: hand every due row (pending, or claimed by a worker that died) to
    Celery again. Sending twice is harmless: `delivery_attempt` claims before it sends."""
    ids = list(
        Delivery.objects.filter(_due(timezone.now()))
        .order_by("next_attempt_at")
        .values_list("id", flat=True)[:DISPATCH_BATCH]
    )
    return deliveries_dispatch(ids)


def delivery_claim(delivery_id: int) -> Delivery | None:
    """Claim a due delivery for this worker, or None if it is not due or another worker has it."""
    now = timezone.now()
    with transaction.atomic():
        row = (
            Delivery.objects.select_for_update(skip_locked=True)
            .filter(_due(now), pk=delivery_id)
            .first()
        )
        if row is None:
            return None
        # Conditional as well as locked: SQLite has no row locks, and its writes are serialised.
        claimed = Delivery.objects.filter(_due(now), pk=delivery_id).update(
            status=DeliveryStatus.SENDING,
            lease_until=now + lease_length(),
            attempts=F("attempts") + 1,
        )
        if not claimed:
            return None
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
    started_at = timezone.now()
    start = time.monotonic()
    result = channel_send(delivery)
    duration_ms = int((time.monotonic() - start) * 1000)
    delay = None
    with transaction.atomic():
        DeliveryAttempt.objects.create(
            delivery=delivery,
            number=delivery.attempts,
            started_at=started_at,
            duration_ms=duration_ms,
            ok=result.ok,
            status_code=result.status_code,
            error=result.error[:500],
            response_excerpt=result.excerpt[:200],
        )
        delivery.lease_until = None
        delivery.last_error = result.error[:500]
        if result.ok:
            delivery.status = DeliveryStatus.DELIVERED
            delivery.delivered_at = timezone.now()
        elif result.final or delivery.attempts >= settings.FLAGSITE_ALERTS_MAX_ATTEMPTS:
            delivery.status = DeliveryStatus.FAILED
        else:
            delay = retry_delay(delivery.attempts)
            delivery.status = DeliveryStatus.PENDING
            delivery.next_attempt_at = timezone.now() + delay
        delivery.save(
            update_fields=["status", "lease_until", "last_error", "delivered_at", "next_attempt_at"]
        )
    if delay is not None:
        deliveries_dispatch([delivery.pk], countdown=delay.total_seconds())
    return delivery.status
