"""Budgets and the thresholds they crossed (docs/costs.md). Prices stay in `feedback.ModelPrice`
(ingestion reads them); spend is computed from `feedback.LlmCall` by aggregate SQL."""

from __future__ import annotations

from decimal import Decimal

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from flags.models import Environment


class Scope(models.TextChoices):
    ALL = "all", "Everything"
    FEATURE = "feature", "One feature"
    MODEL = "model", "One model"
    USER_TIER = "user_tier", "One user tier"
    VARIANT = "variant", "One flag variant"


class Period(models.TextChoices):
    DAY = "day", "Day"
    MONTH = "month", "Month"


class Threshold(models.TextChoices):
    WARNING = "warning", "Warning"
    CRITICAL = "critical", "Critical"
    FORECAST = "forecast", "Forecast"


class Budget(models.Model):
    name = models.CharField(max_length=128)
    scope = models.CharField(max_length=16, choices=Scope.choices, default=Scope.ALL)
    # The feature / model / user tier / variant key the scope names ('' for everything).
    scope_value = models.CharField(max_length=128, blank=True)
    # The flag whose variant a `variant` budget counts (attribution: experiments.attribution).
    flag_key = models.CharField(max_length=128, blank=True)
    # None: every environment.
    environment = models.ForeignKey(
        Environment, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    period = models.CharField(max_length=8, choices=Period.choices, default=Period.MONTH)
    amount_usd = models.DecimalField(
        max_digits=14,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0.01")), MaxValueValidator(Decimal("1e11"))],
        help_text="USD per period",
    )
    warning_percent = models.PositiveSmallIntegerField(
        default=80, validators=[MinValueValidator(1), MaxValueValidator(1000)]
    )
    critical_percent = models.PositiveSmallIntegerField(
        default=100, validators=[MinValueValidator(1), MaxValueValidator(1000)]
    )
    forecast = models.BooleanField(
        default=True, help_text="Warn when the current rate would reach 100 % before the end."
    )
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class BudgetCrossing(models.Model):
    """A threshold a budget crossed in one period: written once, in the transaction that raises
    its alert, so each threshold alerts once per period whatever the workers do (the unique
    constraint is the guarantee; the budget row lock just keeps the loser from trying)."""

    budget = models.ForeignKey(Budget, on_delete=models.CASCADE, related_name="crossings")
    period_start = models.DateTimeField()
    threshold = models.CharField(max_length=16, choices=Threshold.choices)
    spend_usd = models.DecimalField(max_digits=20, decimal_places=10)
    projected_usd = models.DecimalField(max_digits=20, decimal_places=10, null=True, blank=True)
    dedupe_key = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["budget", "period_start", "threshold"], name="budgetcrossing_once"
            )
        ]

    def __str__(self) -> str:
        return self.dedupe_key
