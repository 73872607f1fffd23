"""API keys in Django's admin (superusers only, see flags/admin.py): read-only, like every
flagsite model there. Keys are created and revoked by delivery.keys (audited), in the UI."""

from django.contrib import admin

from flags.admin import ReadOnlyAdmin

from .models import ApiKey


@admin.register(ApiKey)
class ApiKeyAdmin(ReadOnlyAdmin):
    list_display = (
        "name",
        "environment",
        "kind",
        "hint",
        "created_at",
        "last_used_at",
        "revoked_at",
    )
    exclude = ("key_hash",)
