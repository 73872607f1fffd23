"""One alert model for every source, the channels that carry alerts, and the delivery outbox.

An `Alert` is the in-app channel itself (the alert list and the badge). Every other channel gets
one `Delivery` row per alert, written in the same transaction as the alert (the outbox), and each
try to send it is a `DeliveryAttempt` (docs/alerts.md).
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q


class Source(models.TextChoices):
    BUDGET = "budget", "Budget"
    ANOMALY = "anomaly", "Cost anomaly"
    ROLLOUT = "rollout", "Rollout"
    EXPERIMENT = "experiment", "Experiment"
    SYSTEM = "system", "System"


class Severity(models.TextChoices):
    INFO = "info", "Info"
    WARNING = "warning", "Warning"
    CRITICAL = "critical", "Critical"


# Higher is more severe: a subscription at "warning" also receives "critical".
SEVERITY_RANK = {Severity.INFO: 0, Severity.WARNING: 1, Severity.CRITICAL: 2}


class AlertStatus(models.TextChoices):
    OPEN = "open", "Open"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    RESOLVED = "resolved", "Resolved"


UNRESOLVED = (AlertStatus.OPEN, AlertStatus.ACKNOWLEDGED)


class Alert(models.Model):
    source = models.CharField(max_length=16, choices=Source.choices)
    # What makes two raises the same alert, chosen by the source (e.g. "budget:3:2026-12-01:80").
    dedupe_key = models.CharField(max_length=200)
    severity = models.CharField(max_length=16, choices=Severity.choices)
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    # Where the person goes to see what fired (a path in this site, or an absolute URL).
    link = models.CharField(max_length=500, blank=True)
    details = models.JSONField(default=dict, blank=True)
    environment = models.ForeignKey(
        "flags.Environment", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(max_length=16, choices=AlertStatus.choices, default="open")
    created_at = models.DateTimeField(auto_now_add=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    acknowledged_comment = models.TextField(blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolved_comment = models.TextField(blank=True)
    # Each time a raise under the same key made the alert more severe, oldest first:
    # {"at", "from", "to", "title"} and, if a person had acknowledged it, who and when
    # (docs/alerts.md, "Escalation").
    escalations = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # At most one unresolved alert per (source, dedupe_key): raising is idempotent even
            # when two workers raise the same alert at the same moment.
            models.UniqueConstraint(
                fields=["source", "dedupe_key"],
                condition=~Q(status="resolved"),
                name="alerts_one_unresolved_per_key",
            )
        ]
        indexes = [models.Index(fields=["status", "-created_at"], name="alerts_status_created")]

    def __str__(self) -> str:
        return f"[{self.severity}] {self.title}"

    @property
    def safe_link(self) -> str:
        """The link, if it is a path here or an http(s) URL (never javascript: and friends)."""
        link = self.link
        if (link.startswith("/") and not link.startswith("//")) or link.startswith(
            ("https://", "http://")
        ):
            return link
        return ""


class ChannelKind(models.TextChoices):
    EMAIL = "email", "Email"
    WEBHOOK = "webhook", "Webhook"


class PayloadFormat(models.TextChoices):
    STANDARD = "standard", "Standard Webhooks JSON"
    SLACK = "slack", "Slack-compatible ({text, blocks})"


class Channel(models.Model):
    name = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=16, choices=ChannelKind.choices)
    enabled = models.BooleanField(default=True)
    # email: comma-separated addresses.
    recipients = models.TextField(blank=True)
    # webhook: the receiver, its signing secret ("whsec_" + base64) and the body's shape.
    url = models.URLField(max_length=500, blank=True)
    secret = models.CharField(max_length=100, blank=True)
    payload_format = models.CharField(
        max_length=16, choices=PayloadFormat.choices, default=PayloadFormat.STANDARD
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def recipient_list(self) -> list[str]:
        return [a.strip() for a in self.recipients.split(",") if a.strip()]


class Subscription(models.Model):
    """A channel receives alerts of one source at this severity or above."""

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="subscriptions")
    source = models.CharField(max_length=16, choices=Source.choices)
    min_severity = models.CharField(max_length=16, choices=Severity.choices)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["channel", "source"], name="alerts_one_sub_per_source")
        ]

    def __str__(self) -> str:
        return f"{self.channel} <- {self.source} >= {self.min_severity}"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"  # waiting for its (next) attempt
    SENDING = "sending", "Sending"  # claimed by a worker until lease_until
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed"  # every attempt failed
    # Over the channel's rate limit: waits for the channel's next digest (alerts/digest.py).
    HELD = "held", "Held for the digest"


class OutboxRow(models.Model):
    """What a message waiting to be sent keeps: a Delivery (one alert to one channel) or a
    Digest (the alerts a channel's rate limit held back). alerts/outbox.py claims and sends."""

    # The webhook-id header: the same for every retry, so receivers can drop duplicates.
    message_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    status = models.CharField(
        max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    # While a worker sends, nobody else may; a worker that died frees the row when this passes.
    lease_until = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True


class Digest(OutboxRow):
    """One message per channel and rate-limit window listing the alerts held back in earlier
    windows (docs/alerts.md, "Alert storms"). Sent like a delivery: claimed with a lease,
    retried with backoff; its held rows take the digest's outcome."""

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="digests")
    # The window the digest is sent in: at most one digest per channel and window.
    window_start = models.DateTimeField()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "window_start"], name="alerts_one_digest_per_window"
            )
        ]

    def __str__(self) -> str:
        return f"digest {self.pk} -> {self.channel_id}: {self.status}"


class Delivery(OutboxRow):
    """The outbox: one row per (alert, channel), written in the alert's transaction."""

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="deliveries")
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="deliveries")
    # The channel's rate-limit window this row was let through (or held) in; None until its
    # first claim (alerts/digest.py, `delivery_admit`).
    window_start = models.DateTimeField(null=True, blank=True)
    # A held row is sent as part of this digest.
    digest = models.ForeignKey(
        Digest, null=True, blank=True, on_delete=models.SET_NULL, related_name="deliveries"
    )

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["alert", "channel"], name="alerts_one_delivery")
        ]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="alerts_outbox_due"),
            models.Index(fields=["channel", "window_start"], name="alerts_channel_window"),
        ]

    def __str__(self) -> str:
        return f"alert {self.alert_id} -> {self.channel_id}: {self.status}"


class Attempt(models.Model):
    """One try at sending an outbox row."""

    number = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField()
    ok = models.BooleanField()
    status_code = models.PositiveIntegerField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)
    # Never the whole response: a receiver's answer may be large or hold things we should not keep.
    response_excerpt = models.CharField(max_length=200, blank=True)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"attempt {self.number}: {'ok' if self.ok else self.error}"


class DeliveryAttempt(Attempt):
    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="tries")

    class Meta:
        ordering = ["delivery_id", "number"]


class DigestAttempt(Attempt):
    digest = models.ForeignKey(Digest, on_delete=models.CASCADE, related_name="tries")

    class Meta:
        ordering = ["digest_id", "number"]
