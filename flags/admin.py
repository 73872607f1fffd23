"""Django's admin: a back door for superusers, not the product UI. History stays read-only."""

from django.contrib import admin

from .models import (
    AuditEvent,
    Environment,
    Flag,
    FlagConfig,
    PersonalToken,
    Segment,
    UserProfile,
    Version,
)

# Only superusers get the back door; staff flag admins use the product UI.
admin.site.has_permission = lambda request: bool(  # type: ignore[method-assign]
    request.user.is_active and request.user.is_superuser
)


@admin.register(Environment)
class EnvironmentAdmin(admin.ModelAdmin):
    list_display = ("key", "name", "is_production", "ruleset_version")


@admin.register(Flag)
class FlagAdmin(admin.ModelAdmin):
    list_display = ("key", "name", "kind", "lifecycle", "version", "updated_at")
    search_fields = ("key", "name")
    list_filter = ("kind", "lifecycle")


@admin.register(FlagConfig)
class FlagConfigAdmin(admin.ModelAdmin):
    list_display = ("flag", "environment", "enabled", "version", "updated_at")
    list_filter = ("environment", "enabled")


@admin.register(Segment)
class SegmentAdmin(admin.ModelAdmin):
    list_display = ("key", "name", "percentage", "version")
    search_fields = ("key", "name")


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False


@admin.register(Version)
class VersionAdmin(ReadOnlyAdmin):
    list_display = ("subject", "flag", "environment", "segment", "number", "author", "created_at")
    list_filter = ("subject",)


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "action", "object_key", "environment", "actor", "summary")
    list_filter = ("action",)


@admin.register(UserProfile)
class UserProfileAdmin(admin.ModelAdmin):
    list_display = ("user", "role")


@admin.register(PersonalToken)
class PersonalTokenAdmin(admin.ModelAdmin):
    list_display = ("name", "user", "hint", "created_at", "last_used_at", "revoked_at")
    readonly_fields = ("token_hash", "hint")
