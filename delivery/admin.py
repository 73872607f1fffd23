"""API keys in Django's admin (superusers only, see flags/admin.py): the hash is read-only."""

from django.contrib import admin

from .models import ApiKey


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "environment",
        "kind",
        "hint",
        "created_at",
        "last_used_at",
        "revoked_at",
    )
    readonly_fields = ("key_hash", "hint")
