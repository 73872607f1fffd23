"""Immutable history: every change writes a Version (the full state) and an AuditEvent."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models

from .environment import Environment
from .flag import Flag
from .segment import Segment


class ImmutableError(RuntimeError):
    pass


class ImmutableModel(models.Model):
    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None and not kwargs.get("force_insert"):
            raise ImmutableError(f"{type(self).__name__} rows are immutable")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise ImmutableError(f"{type(self).__name__} rows are immutable")


class Version(ImmutableModel):
    """One state of a flag definition, a flag's config in one environment, or a segment."""

    class Subject(models.TextChoices):
        FLAG = "flag", "Flag definition"
        CONFIG = "config", "Flag configuration"
        SEGMENT = "segment", "Segment"

    subject = models.CharField(max_length=16, choices=Subject.choices)
    flag = models.ForeignKey(
        Flag, null=True, blank=True, on_delete=models.CASCADE, related_name="versions"
    )
    environment = models.ForeignKey(
        Environment, null=True, blank=True, on_delete=models.CASCADE, related_name="versions"
    )
    segment = models.ForeignKey(
        Segment, null=True, blank=True, on_delete=models.CASCADE, related_name="versions"
    )
    number = models.PositiveIntegerField()
    data = models.JSONField()
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    actor_label = models.CharField(max_length=200, blank=True)
    comment = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-number"]
        constraints = [
            models.UniqueConstraint(
                fields=["subject", "flag", "environment", "segment", "number"],
                name="unique_version_number",
                nulls_distinct=False,
            )
        ]
        indexes = [models.Index(fields=["flag", "environment", "-number"])]

    def __str__(self) -> str:
        target = self.segment or self.flag
        where = f"@{self.environment}" if self.environment_id else ""
        return f"{self.subject} {target}{where} v{self.number}"


class AuditEvent(ImmutableModel):
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    # Who acted when it was not a person: "system: rollout", "api key fs_srv_abc…", "import".
    actor_label = models.CharField(max_length=200, blank=True)
    action = models.CharField(max_length=64, db_index=True)
    object_type = models.CharField(max_length=32)
    object_key = models.CharField(max_length=200, db_index=True)
    environment = models.ForeignKey(
        Environment, null=True, blank=True, on_delete=models.SET_NULL, related_name="audit_events"
    )
    version = models.ForeignKey(Version, null=True, blank=True, on_delete=models.SET_NULL)
    summary = models.CharField(max_length=500)
    comment = models.TextField(blank=True)
    # [{"path": "rules[0].serve.variant", "before": ..., "after": ...}]
    diff = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.action} {self.object_key}"

    @property
    def who(self) -> str:
        if self.actor is not None:
            return str(self.actor)
        return self.actor_label or "system"
