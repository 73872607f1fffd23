"""Alert storms: a per-channel rate limit, and one digest for what it held back.

Each channel sends at most `FLAGSITE_ALERTS_CHANNEL_MAX_PER_HOUR` alerts per clock hour (UTC; 0:
no limit). A delivery is *admitted* to the current window at its first claim; over the limit it
is `held` instead (the first critical of a window always goes). Beat, every minute, gathers each
channel's rows held in earlier windows into one `Digest` (unique per channel and window) and
sends it like a delivery: claimed with a lease, retried with backoff; the held rows then take
the digest's outcome. See docs/alerts.md, "Alert storms".
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction

from flagsite import clock

from .channels import SendResult, absolute_link, alert_data, email_post, slack_escape, webhook_post
from .models import Channel, ChannelKind, Delivery, DeliveryStatus, Digest, PayloadFormat, Severity
from .outbox import row_claim, row_send, rows_due, tasks_hand_over, window_start_of


def delivery_admit(row: Delivery) -> bool:
    """Let a delivery through its channel's current window, or hold it for the digest. Called in
    the claim's transaction with `row` locked; the channel row is locked too, so two workers
    admitting rows of one channel count one after the other. Returns False if it was held."""
    limit = settings.FLAGSITE_ALERTS_CHANNEL_MAX_PER_HOUR
    if limit:  # without a limit nothing is counted, so workers need not wait for each other
        Channel.objects.select_for_update().filter(pk=row.channel_id).first()
    window = window_start_of(clock.now())
    row.window_start = window
    if limit:
        admitted = Delivery.objects.filter(
            channel_id=row.channel_id, window_start=window, digest__isnull=True
        ).exclude(status=DeliveryStatus.HELD)
        # Decision: criticals count, but the first critical of a window is never held back.
        criticals = admitted.filter(alert__severity=Severity.CRITICAL)
        first_critical = row.alert.severity == Severity.CRITICAL and not criticals.exists()
        if admitted.count() >= limit and not first_critical:
            row.status = DeliveryStatus.HELD
    Delivery.objects.filter(pk=row.pk).update(window_start=window, status=row.status)
    return row.status != DeliveryStatus.HELD


def digests_write_due() -> list[int]:
    """One digest per channel with rows held in an earlier window (none twice in a window:
    `alerts_one_digest_per_window`). Returns the new digests' ids."""
    now = clock.now()
    window = window_start_of(now)
    held = Delivery.objects.filter(
        status=DeliveryStatus.HELD, digest__isnull=True, window_start__lt=window
    )
    ids = []
    for channel_id in held.order_by("channel_id").values_list("channel_id", flat=True).distinct():
        with transaction.atomic():
            # Serialises with admissions and with another worker writing this channel's digest.
            Channel.objects.select_for_update().filter(pk=channel_id).first()
            if Digest.objects.filter(channel_id=channel_id, window_start=window).exists():
                continue  # this window's digest is written; later rows wait for the next one
            try:
                with transaction.atomic():
                    digest = Digest.objects.create(
                        channel_id=channel_id, window_start=window, next_attempt_at=now
                    )
            except IntegrityError:
                continue
            held.filter(channel_id=channel_id).update(digest=digest)
            ids.append(digest.pk)
    return ids


def digests_dispatch(ids: list[int], *, countdown: float = 0) -> int:
    """Hand digests to Celery; what the broker refuses is picked up by beat."""
    from .tasks import digest_send

    return tasks_hand_over(digest_send, ids, countdown=countdown)


def digests_dispatch_due() -> int:
    """Beat, every minute: write the due digests and hand every due one to Celery."""
    digests_write_due()
    ids = list(Digest.objects.filter(rows_due(clock.now())).values_list("id", flat=True)[:500])
    return digests_dispatch(ids)


def digest_attempt(*, digest_id: int) -> str:
    """Make one attempt at sending a digest; on success or final failure its held rows take the
    outcome. Returns the digest's status, or "skipped"."""
    if row_claim(Digest, digest_id) is None:
        return "skipped"
    digest = Digest.objects.select_related("channel").get(pk=digest_id)
    rows = list(
        digest.deliveries.select_related("alert", "alert__environment").order_by("alert_id")
    )
    delay = row_send(
        digest, lambda: digest_send_now(digest, rows), tries=digest.tries, finish=_rows_finish
    )
    if delay is not None:
        digests_dispatch([digest.pk], countdown=delay.total_seconds())
    return digest.status


def _rows_finish(digest: Digest) -> None:
    """A digest delivered or failed for good: its held rows take its outcome."""
    if digest.status in (DeliveryStatus.DELIVERED, DeliveryStatus.FAILED):
        digest.deliveries.update(
            status=digest.status, delivered_at=digest.delivered_at, last_error=digest.last_error
        )


def digest_send_now(digest: Digest, rows: list[Delivery]) -> SendResult:
    channel = digest.channel
    if not channel.enabled:
        return SendResult(ok=False, error="channel disabled", final=True)
    if channel.kind == ChannelKind.EMAIL:
        return email_post(
            channel,
            subject=f"[flagsite digest] {len(rows)} alerts held back (rate limit)",
            body=digest_text(rows),
            headers={"Message-ID": f"<{digest.message_id}@flagsite>"},
        )
    payload = (
        digest_payload_slack(rows)
        if channel.payload_format == PayloadFormat.SLACK
        else digest_payload_standard(digest, rows)
    )
    return webhook_post(channel, message_id=digest.message_id.hex, payload=payload)


def digest_text(rows: list[Delivery]) -> str:
    lines = [
        f"{len(rows)} alerts were held back because this channel reached its limit of "
        f"{settings.FLAGSITE_ALERTS_CHANNEL_MAX_PER_HOUR} per hour:",
        "",
    ]
    for row in rows:
        alert = row.alert
        lines.append(f"- [{alert.severity}] {alert.title}")
        if link := absolute_link(alert.link):
            lines.append(f"  {link}")
    return "\n".join(lines) + "\n"


def digest_payload_standard(digest: Digest, rows: list[Delivery]) -> dict[str, Any]:
    return {
        "type": "alert.digest",
        "timestamp": digest.created_at.isoformat(),
        "data": {
            "id": digest.pk,
            "window_start": digest.window_start.isoformat(),
            "count": len(rows),
            "alerts": [alert_data(row.alert) for row in rows],
        },
    }


def digest_payload_slack(rows: list[Delivery]) -> dict[str, Any]:
    headline = f"{len(rows)} alerts held back by this channel's rate limit"
    lines = []
    for row in rows:
        alert, link = row.alert, absolute_link(row.alert.link)
        text = slack_escape(f"[{alert.severity.upper()}] {alert.title}")
        lines.append(f"• {text}" + (f" <{link}|Open>" if link else ""))
    listing = "\n".join(lines)
    return {
        "text": f"{headline}\n{listing}",
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": f"*{headline}*"}},
            {"type": "section", "text": {"type": "mrkdwn", "text": listing[:2900]}},
        ],
    }
