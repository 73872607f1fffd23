from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django import forms

from feedback.models import ModelPrice
from flags.models import Environment

from .models import Budget, Scope
from .spend import GROUPINGS

# django-stubs types ModelForm by its model; at run time ModelForm is not subscriptable.
if TYPE_CHECKING:
    _PriceForm = forms.ModelForm[ModelPrice]
    _BudgetForm = forms.ModelForm[Budget]
else:
    _PriceForm = _BudgetForm = forms.ModelForm

PERIOD_CHOICES = [
    ("24h", "Last 24 hours (hourly)"),
    ("7d", "Last 7 days (daily)"),
    ("30d", "Last 30 days (daily)"),
]


class ModelPriceForm(_PriceForm):
    effective_from = forms.DateTimeField(
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text="UTC. Calls at or after this time use this price, until the model's next price.",
    )

    class Meta:
        model = ModelPrice
        fields = [
            "model",
            "input_per_million",
            "output_per_million",
            "cached_input_per_million",
            "effective_from",
        ]
        labels = {
            "input_per_million": "Input (USD / million tokens)",
            "output_per_million": "Output (USD / million tokens)",
            "cached_input_per_million": "Cached input (USD / million tokens)",
        }

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        for name in ("input_per_million", "output_per_million", "cached_input_per_million"):
            value = data.get(name)
            if value is not None and value < 0:
                self.add_error(name, "A price cannot be negative.")
        return data


class CostFilters(forms.Form):
    """The cost page's query string. Bad values are reported, never guessed."""

    period = forms.ChoiceField(choices=PERIOD_CHOICES, required=False)
    group = forms.ChoiceField(choices=list(GROUPINGS.items()), required=False, label="Group by")
    env = forms.ChoiceField(required=False, label="Environment")
    flag = forms.SlugField(max_length=128, required=False, label="Flag (for variants)")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        envs = Environment.objects.order_by("sort_order", "key").values_list("key", "name")
        env_field = self.fields["env"]
        assert isinstance(env_field, forms.ChoiceField)
        env_field.choices = [("", "All environments"), *envs]

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        if data.get("group") == "variant" and not data.get("flag"):
            self.add_error("flag", "Choose the flag whose variants to group by.")
        return data


class BudgetForm(_BudgetForm):
    class Meta:
        model = Budget
        fields = [
            "name",
            "scope",
            "scope_value",
            "flag_key",
            "environment",
            "period",
            "amount_usd",
            "warning_percent",
            "critical_percent",
            "forecast",
            "enabled",
        ]
        labels = {
            "scope_value": "Feature / model / user tier / variant",
            "flag_key": "Flag (variant budgets)",
            "amount_usd": "Amount (USD per period)",
            "warning_percent": "Warning at (%)",
            "critical_percent": "Critical at (%)",
        }

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        scope = data.get("scope")
        if scope and scope != Scope.ALL and not (data.get("scope_value") or "").strip():
            self.add_error("scope_value", "Name the feature, model, user tier or variant.")
        if scope == Scope.VARIANT and not (data.get("flag_key") or "").strip():
            self.add_error("flag_key", "A variant budget needs its flag.")
        if scope == Scope.ALL:
            data["scope_value"] = ""
        if scope != Scope.VARIANT:
            data["flag_key"] = ""
        warning, critical = data.get("warning_percent"), data.get("critical_percent")
        if warning and critical and warning > critical:
            self.add_error("warning_percent", "The warning must come at or before critical.")
        return data
