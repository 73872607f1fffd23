"""Roles: viewer reads, editor changes non-production environments, admin does everything."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Role(models.TextChoices):
    VIEWER = "viewer", "Viewer"
    EDITOR = "editor", "Editor"
    ADMIN = "admin", "Admin"


class UserProfile(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="flagsite_profile"
    )
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.VIEWER)

    def __str__(self) -> str:
        return f"{self.user} ({self.role})"


def user_role(user: object) -> Role | None:
    """The user's role, or None for anonymous users. Superusers are always admins."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    if getattr(user, "is_superuser", False):
        return Role.ADMIN
    profile = getattr(user, "flagsite_profile", None)
    try:
        return Role(profile.role) if profile is not None else Role.VIEWER
    except ValueError:
        return Role.VIEWER
