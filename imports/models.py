"""An import from Unleash, from the plan a person reviews to the result of applying it."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

from flags.models import AuditEvent, Environment


class ImportJob(models.Model):
    """One pasted or uploaded Unleash document and what became of it.

    The row is created when the plan is shown (status `planned`); its `token` is the page's
    address and the idempotency key of "Apply": only a `planned` job can be applied, and the
    move out of `planned` is one conditional UPDATE, so a reload or a second click applies
    nothing twice. Small imports run inline, large ones in the Celery worker
    (`imports.tasks.import_job_run_task`), which reports `done`/`total` as it goes.
    """

    class Status(models.TextChoices):
        PLANNED = "planned", "Planned"
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Imported"
        FAILED = "failed", "Failed"

    token = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    environment = models.ForeignKey(Environment, on_delete=models.CASCADE, related_name="+")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    applied_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    source_name = models.CharField(max_length=200, blank=True)  # the uploaded file's name
    source_bytes = models.PositiveIntegerField(default=0)
    document = models.JSONField()  # the Unleash client API document, as parsed
    plan = models.JSONField(default=dict)  # imports.plan.import_plan(), what the person saw
    plan_digest = models.CharField(max_length=64)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PLANNED)
    comment = models.TextField(blank=True)
    done = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(default=0)
    in_worker = models.BooleanField(default=False)
    attempts = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    result = models.JSONField(default=dict, blank=True)  # {"created": [...], "changed": [...]}
    errors = models.JSONField(default=list, blank=True)  # [[path, message], ...]
    audit_event = models.ForeignKey(
        AuditEvent, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Unleash import #{self.pk} into {self.environment} ({self.status})"

    @property
    def finished(self) -> bool:
        return self.status in (self.Status.SUCCEEDED, self.Status.FAILED)

    @property
    def percent(self) -> int:
        return int(100 * self.done / self.total) if self.total else 0
