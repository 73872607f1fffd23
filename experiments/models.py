"""Experiments on a flag's variants, their unit assignments and their result snapshots
(docs/experiments.md). Change an experiment's lifecycle only through `experiments.lifecycle`:
starting, stopping and concluding are flag changes (versioned, audited)."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models

from flags.models import Environment, Flag


def new_salt() -> str:
    return secrets.token_hex(8)


class Status(models.TextChoices):
    DRAFT = "draft", "Draft"
    RUNNING = "running", "Running"
    STOPPED = "stopped", "Stopped"
    CONCLUDED = "concluded", "Concluded"


class Correction(models.TextChoices):
    HOLM = "holm", "Holm"
    BH = "bh", "Benjamini-Hochberg"


class Experiment(models.Model):
    key = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    flag = models.ForeignKey(Flag, on_delete=models.CASCADE, related_name="experiments")
    environment = models.ForeignKey(
        Environment, on_delete=models.CASCADE, related_name="experiments"
    )
    hypothesis = models.TextField(blank=True)
    control = models.CharField(max_length=64)
    treatments = models.JSONField(default=list)  # variant keys
    # Of the traffic that reaches the flag's default (after its targeting rules), the share in
    # the experiment, split evenly between control and treatments.
    traffic_percentage = models.FloatField(default=100.0)
    salt = models.CharField(max_length=64, default=new_salt)
    primary_metric = models.CharField(max_length=64)
    secondary_metrics = models.JSONField(default=list, blank=True)
    # [{"metric": key, "max": 0.01} or {"metric": key, "min": ...}]: breached -> an alert.
    guardrails = models.JSONField(default=list, blank=True)
    correction = models.CharField(max_length=8, choices=Correction.choices, default="holm")
    sequential = models.BooleanField(default=True)
    alpha = models.FloatField(default=0.05)
    target_units_per_variant = models.PositiveIntegerField(default=1000)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)
    decision = models.CharField(max_length=64, blank=True)  # the shipped variant, or "control"
    srm_acknowledged_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    stopped_at = models.DateTimeField(null=True, blank=True)
    concluded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # Exclusivity (SHARED_CONTRACTS.md): one running experiment per flag and environment.
            models.UniqueConstraint(
                fields=["flag", "environment"],
                condition=models.Q(status="running"),
                name="one_running_experiment_per_flag_env",
            )
        ]

    def __str__(self) -> str:
        return self.key

    @property
    def variants(self) -> list[str]:
        return [self.control, *self.treatments]

    @property
    def rule_id(self) -> str:
        from flagsite_sdk.engine import EXPERIMENT_RULE_PREFIX

        return f"{EXPERIMENT_RULE_PREFIX}{self.key}"

    @property
    def metric_keys(self) -> list[str]:
        keys = [self.primary_metric, *self.secondary_metrics]
        keys += [g["metric"] for g in self.guardrails]
        return list(dict.fromkeys(keys))


class Assignment(models.Model):
    """A unit's variant in an experiment, materialised from exposures by each computation: the
    first exposure fixes it; `multiple` marks a unit seen in more than one variant (excluded)."""

    experiment = models.ForeignKey(Experiment, on_delete=models.CASCADE, related_name="+")
    unit = models.CharField(max_length=256)
    variant = models.CharField(max_length=128)
    first_at = models.DateTimeField()
    first_epoch = models.FloatField()
    multiple = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["experiment", "unit"], name="assignment_unique_unit")
        ]

    def __str__(self) -> str:
        return f"{self.unit}={self.variant}"


class ExperimentResult(models.Model):
    """One computation's snapshot. `period` (the computation time floored to the schedule
    interval) is unique per experiment, so two workers computing at once store one."""

    experiment = models.ForeignKey(Experiment, on_delete=models.CASCADE, related_name="results")
    period = models.DateTimeField()
    computed_at = models.DateTimeField()
    data = models.JSONField(default=dict)

    class Meta:
        ordering = ["-period"]
        constraints = [
            models.UniqueConstraint(fields=["experiment", "period"], name="result_unique_period")
        ]

    def __str__(self) -> str:
        return f"{self.experiment_id}@{self.period:%Y-%m-%d %H:%M}"


class MetricDefinition(models.Model):
    """A team-defined metric (docs/experiments.md, "Team metrics"): validated data that
    `experiments.team_metrics` compiles to a catalogue `Metric`. Change it only through
    `experiments.team_metric_changes` (policy, audit, the running-experiment rule)."""

    key = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    source = models.CharField(max_length=16)  # llm_call, feedback, score, implicit
    kind = models.CharField(max_length=16)  # mean, proportion, ratio, quantile
    unit = models.CharField(max_length=16)  # user, request
    direction = models.CharField(max_length=8)  # higher, lower
    # mean / ratio / quantile: an allow-listed numeric field of the source.
    value = models.CharField(max_length=64, blank=True)
    # proportion: {"field", "op", "value"}, one condition; events meeting it count as 1.
    condition = models.JSONField(null=True, blank=True)
    # ratio: an allow-listed numeric field, or "" for one per event.
    denominator = models.CharField(max_length=64, blank=True)
    quantile = models.FloatField(null=True, blank=True)
    # [{"field", "op", "value"}]: which events count (all must hold).
    filters = models.JSONField(default=list, blank=True)
    format = models.CharField(max_length=8, default="number")
    archived = models.BooleanField(default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["key"]

    def __str__(self) -> str:
        return self.key
