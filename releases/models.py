"""Rollout plans: a flag in one environment moves from one variant to another in phases, watched
by health gates. The plan's state changes only through `releases.plans` (which writes the flag
versions through `flags.changes`); the job (`releases.checks`) and people call the same functions.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import models

from flags.models import Environment, Flag
from flags.ruleset import ROLLOUT_RULE_PREFIX


class PlanStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    RUNNING = "running", "Running"
    PAUSED = "paused", "Paused"
    COMPLETED = "completed", "Completed"
    ROLLED_BACK = "rolled_back", "Rolled back"
    CANCELLED = "cancelled", "Cancelled"


ACTIVE_STATUSES = (PlanStatus.RUNNING, PlanStatus.PAUSED)


class RolloutPlan(models.Model):
    flag = models.ForeignKey(Flag, on_delete=models.CASCADE, related_name="rollout_plans")
    environment = models.ForeignKey(
        Environment, on_delete=models.CASCADE, related_name="rollout_plans"
    )
    name = models.CharField(max_length=200, blank=True)
    template = models.CharField(max_length=32, blank=True)
    variant = models.CharField(max_length=64, help_text="the variant being rolled out")
    replaces = models.CharField(max_length=64, help_text="the variant it replaces (control)")
    status = models.CharField(max_length=16, choices=PlanStatus.choices, default=PlanStatus.DRAFT)
    # -1 before the start; the index of the phase being served afterwards.
    current_phase = models.IntegerField(default=-1)
    phase_started_at = models.DateTimeField(null=True, blank=True)
    paused_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    end_reason = models.TextField(blank=True)
    # Bumped by every state change; a change claims the revision it read (optimistic lock), so
    # two workers can never both apply one step, on PostgreSQL and SQLite alike.
    revision = models.PositiveIntegerField(default=0)
    last_checked_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status"], name="rolloutplan_status")]

    def __str__(self) -> str:
        return f"rollout #{self.pk} {self.flag.key}@{self.environment.key}"

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    @property
    def rule_prefix(self) -> str:
        return f"{ROLLOUT_RULE_PREFIX}{self.pk}-"

    def phase_list(self) -> list[Phase]:
        return list(self.phases.order_by("position"))

    def phase_ends_at(self, phase: Phase) -> datetime | None:
        if self.phase_started_at is None:
            return None
        return self.phase_started_at + timedelta(seconds=phase.min_duration_seconds)


class Phase(models.Model):
    """One step. Audiences are cumulative: phase k serves the new variant to every segment named
    by phases 0..k and to the largest percentage of units named so far (docs/rollouts.md)."""

    plan = models.ForeignKey(RolloutPlan, on_delete=models.CASCADE, related_name="phases")
    position = models.PositiveIntegerField()
    name = models.CharField(max_length=100, blank=True)
    percentage = models.DecimalField(max_digits=6, decimal_places=3, null=True, blank=True)
    segments = models.JSONField(default=list, blank=True)
    min_duration_seconds = models.PositiveIntegerField(default=24 * 3600)
    # The "complete" step: the new variant becomes the flag's default, the plan's rule goes.
    completes = models.BooleanField(default=False)

    class Meta:
        ordering = ["plan", "position"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "position"], name="phase_unique_position")
        ]

    def __str__(self) -> str:
        return self.name or f"phase {self.position + 1}"

    @property
    def audience(self) -> str:
        parts = [f"segment {s}" for s in self.segments]
        if self.percentage is not None:
            parts.append(f"{self.percentage.normalize():f} % of units")
        if self.completes:
            return "complete: new default for everyone"
        return " + ".join(parts) or "nobody new"


class Gate(models.Model):
    """A health gate over the units currently served the new variant: breached when the metric
    over its own window is worse than the threshold (or, with `compare_with_control`, when the
    always-valid confidence interval of new minus control lies entirely on the worse side)."""

    plan = models.ForeignKey(RolloutPlan, on_delete=models.CASCADE, related_name="gates")
    metric = models.CharField(max_length=64)  # experiments.metrics.metric_get finds it
    threshold = models.FloatField(help_text="as the metric reports it: 0.05 = 5 %, ms for latency")
    window_seconds = models.PositiveIntegerField(default=300)
    min_sample = models.PositiveIntegerField(default=50)
    compare_with_control = models.BooleanField(default=False)

    class Meta:
        ordering = ["plan", "id"]

    def __str__(self) -> str:
        return f"{self.metric} > {self.threshold} over {self.window_seconds}s"


class PlanEvent(models.Model):
    """The plan's timeline (what the page shows); the flag's versions and audit rows are written
    by flags.changes as well."""

    plan = models.ForeignKey(RolloutPlan, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField()
    kind = models.CharField(max_length=32)  # started, advanced, paused, resumed, rolled_back ...
    actor_label = models.CharField(max_length=200)
    comment = models.TextField(blank=True)
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.kind} at {self.at:%Y-%m-%d %H:%M}"


class GateReading(models.Model):
    """A gate's value at one check (the page's trend line and sample size)."""

    gate = models.ForeignKey(Gate, on_delete=models.CASCADE, related_name="readings")
    at = models.DateTimeField()
    value = models.FloatField(null=True)
    control_value = models.FloatField(null=True)
    sample = models.PositiveIntegerField(default=0)
    breached = models.BooleanField(default=False)

    class Meta:
        ordering = ["gate", "-at"]
        indexes = [models.Index(fields=["gate", "-at"], name="gatereading_gate_at")]

    def __str__(self) -> str:
        return f"{self.gate.metric}={self.value} (n={self.sample})"


class ScheduledStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    APPLIED = "applied", "Applied"
    CANCELLED = "cancelled", "Cancelled"
    FAILED = "failed", "Failed"


class ScheduledChange(models.Model):
    """A configuration change (any of flags.changes.CONFIG_FIELDS) applied at `run_at` by the
    job, through flags.changes, as the person who scheduled it would have applied it."""

    flag = models.ForeignKey(Flag, on_delete=models.CASCADE, related_name="scheduled_changes")
    environment = models.ForeignKey(Environment, on_delete=models.CASCADE, related_name="+")
    changes = models.JSONField()
    run_at = models.DateTimeField()
    comment = models.TextField(blank=True)
    status = models.CharField(
        max_length=16, choices=ScheduledStatus.choices, default=ScheduledStatus.PENDING
    )
    result = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["run_at", "id"]
        indexes = [models.Index(fields=["status", "run_at"], name="scheduled_due")]

    def __str__(self) -> str:
        return f"{self.flag.key}@{self.environment.key} at {self.run_at:%Y-%m-%d %H:%M}"

    def summary(self) -> str:
        """What the change does, in the words of the page's form ("turn off · default variant
        new"); fields the form does not offer (rules, a split default) are named, not spelled."""
        changes = self.changes if isinstance(self.changes, dict) else {}
        parts = []
        if "enabled" in changes:
            parts.append("turn on" if changes["enabled"] else "turn off")
        default = changes.get("default")
        if isinstance(default, dict) and set(default) == {"variant"}:
            parts.append(f"default variant {default['variant']}")
        elif "default" in changes:
            parts.append("default split")
        if "off_variant" in changes:
            parts.append(f"off variant {changes['off_variant']}")
        parts += [f"{name} changed" for name in ("rules", "prerequisites") if name in changes]
        return " · ".join(parts) or "nothing"
