"""Django's admin: a read-only window for superusers, not a way to change anything.

Every flagsite model here has its own write path that validates, versions, audits and publishes
(flags.changes, delivery.keys, the users and tokens views). A save in the admin would skip all of it
and ship unnoticed with the next unrelated publish, so the admin only lists and shows; change
things in the product UI, the management API or a script that calls flags.changes.
"""

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


class ReadOnlyAdmin(admin.ModelAdmin):
    """Lists and detail pages only: no add, change or delete (nor their bulk actions)."""

    def has_add_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False


@admin.register(Environment)
class EnvironmentAdmin(ReadOnlyAdmin):
    list_display = ("key", "name", "is_production", "ruleset_version")


@admin.register(Flag)
class FlagAdmin(ReadOnlyAdmin):
    list_display = ("key", "name", "kind", "lifecycle", "version", "updated_at")
    search_fields = ("key", "name")
    list_filter = ("kind", "lifecycle")


@admin.register(FlagConfig)
class FlagConfigAdmin(ReadOnlyAdmin):
    list_display = ("flag", "environment", "enabled", "version", "updated_at")
    list_filter = ("environment", "enabled")


@admin.register(Segment)
class SegmentAdmin(ReadOnlyAdmin):
    list_display = ("key", "name", "percentage", "version")
    search_fields = ("key", "name")


@admin.register(Version)
class VersionAdmin(ReadOnlyAdmin):
    list_display = ("subject", "flag", "environment", "segment", "number", "author", "created_at")
    list_filter = ("subject",)


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "action", "object_key", "environment", "actor", "summary")
    list_filter = ("action",)


@admin.register(UserProfile)
class UserProfileAdmin(ReadOnlyAdmin):
    list_display = ("user", "role")


@admin.register(PersonalToken)
class PersonalTokenAdmin(ReadOnlyAdmin):
    list_display = ("name", "user", "hint", "created_at", "last_used_at", "revoked_at")
    exclude = ("token_hash",)
