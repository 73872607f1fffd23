from __future__ import annotations

from django.db import models

from .environment import FLAG_KEY_VALIDATOR


class Segment(models.Model):
    """A reusable group of contexts, shared by all environments. Change it via flags.changes."""

    key = models.CharField(max_length=128, unique=True, validators=[FLAG_KEY_VALIDATOR])
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    included = models.JSONField(default=list, blank=True)
    excluded = models.JSONField(default=list, blank=True)
    clauses = models.JSONField(default=list, blank=True)
    percentage = models.FloatField(null=True, blank=True)
    bucket_by = models.CharField(max_length=64, default="key")
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["key"]

    def __str__(self) -> str:
        return self.key

    def as_data(self) -> dict[str, object]:
        return {
            "name": self.name,
            "description": self.description,
            "included": self.included,
            "excluded": self.excluded,
            "clauses": self.clauses,
            "percentage": self.percentage,
            "bucket_by": self.bucket_by,
        }
