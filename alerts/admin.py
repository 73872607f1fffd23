"""Read-only, like flags/admin.py: alerts are raised by alerts.api, triaged and routed in the
product UI (audited); the admin only shows. Webhook secrets are not shown here."""

from django.contrib import admin

from flags.admin import ReadOnlyAdmin

from .models import Alert, Channel, Delivery, DeliveryAttempt, Digest


@admin.register(Alert)
class AlertAdmin(ReadOnlyAdmin):
    list_display = ["id", "source", "severity", "status", "title", "created_at"]
    list_filter = ["source", "severity", "status"]
    search_fields = ["dedupe_key", "title"]
    raw_id_fields = ["acknowledged_by", "resolved_by"]


@admin.register(Channel)
class ChannelAdmin(ReadOnlyAdmin):
    list_display = ["name", "kind", "enabled", "payload_format"]
    exclude = ["secret"]


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdmin):
    list_display = ["id", "alert", "channel", "status", "attempts", "next_attempt_at"]
    list_filter = ["status", "channel"]
    raw_id_fields = ["alert", "digest"]


@admin.register(Digest)
class DigestAdmin(ReadOnlyAdmin):
    list_display = ["id", "channel", "window_start", "status", "attempts", "next_attempt_at"]
    list_filter = ["status", "channel"]


@admin.register(DeliveryAttempt)
class DeliveryAttemptAdmin(ReadOnlyAdmin):
    list_display = ["delivery", "number", "ok", "status_code", "duration_ms", "started_at"]
    list_filter = ["ok"]
    raw_id_fields = ["delivery"]
