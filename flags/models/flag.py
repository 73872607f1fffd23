from __future__ import annotations

from django.conf import settings
from django.db import models

from .environment import FLAG_KEY_VALIDATOR, Environment


class FlagKind(models.TextChoices):
    BOOLEAN = "boolean", "Boolean"
    STRING = "string", "String"
    NUMBER = "number", "Number"
    JSON = "json", "JSON"


class Lifecycle(models.TextChoices):
    ACTIVE = "active", "Active"
    PERMANENT = "permanent", "Permanent"
    ARCHIVED = "archived", "Archived"


class Flag(models.Model):
    """A flag's definition, shared by all environments. Change it only through flags.changes."""

    key = models.CharField(max_length=128, unique=True, validators=[FLAG_KEY_VALIDATOR])
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    kind = models.CharField(max_length=16, choices=FlagKind.choices)
    # [{"key": "on", "value": true, "name": "", "description": ""}, ...] in display order.
    variants = models.JSONField(default=list)
    tags = models.JSONField(default=list, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="owned_flags",
    )
    lifecycle = models.CharField(max_length=16, choices=Lifecycle.choices, default=Lifecycle.ACTIVE)
    salt = models.CharField(max_length=64)
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["key"]

    def __str__(self) -> str:
        return self.key

    @property
    def variant_keys(self) -> list[str]:
        return [v["key"] for v in self.variants]


class FlagConfig(models.Model):
    """How a flag is served in one environment. Change it only through flags.changes."""

    flag = models.ForeignKey(Flag, on_delete=models.CASCADE, related_name="configs")
    environment = models.ForeignKey(Environment, on_delete=models.CASCADE, related_name="configs")
    enabled = models.BooleanField(default=False)
    off_variant = models.CharField(max_length=64)
    rules = models.JSONField(default=list, blank=True)
    default = models.JSONField(default=dict)
    prerequisites = models.JSONField(default=list, blank=True)
    version = models.PositiveIntegerField(default=1)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["flag", "environment"], name="one_config_per_env")
        ]

    def __str__(self) -> str:
        return f"{self.flag.key}@{self.environment.key}"

    def as_data(self) -> dict[str, object]:
        """The versioned part of the configuration (what a Version snapshots)."""
        return {
            "enabled": self.enabled,
            "off_variant": self.off_variant,
            "rules": self.rules,
            "default": self.default,
            "prerequisites": self.prerequisites,
        }
