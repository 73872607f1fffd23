from __future__ import annotations

from typing import Any

from django import forms

from flags.models import Environment, Flag

from .metrics import metrics_list


def _metric_choices() -> list[tuple[str, str]]:
    return [(m.key, m.name) for m in metrics_list()]


class ExperimentForm(forms.Form):
    key = forms.SlugField(max_length=64, help_text="Lowercase letters, digits and dashes.")
    name = forms.CharField(max_length=200, required=False)
    flag = forms.ModelChoiceField(Flag.objects.exclude(lifecycle="archived"), to_field_name="key")
    environment = forms.ModelChoiceField(Environment.objects.all(), to_field_name="key")
    control = forms.CharField(max_length=64, help_text="The variant key of the control.")
    treatments = forms.CharField(
        max_length=500, help_text="Treatment variant keys, separated by commas."
    )
    traffic_percentage = forms.FloatField(
        min_value=0.001,
        max_value=100,
        initial=100,
        help_text="Of the traffic that reaches the flag's default, the share in the experiment.",
    )
    hypothesis = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)
    primary_metric = forms.ChoiceField(choices=_metric_choices)
    secondary_metrics = forms.MultipleChoiceField(
        choices=_metric_choices, required=False, widget=forms.CheckboxSelectMultiple
    )
    correction = forms.ChoiceField(
        choices=[("holm", "Holm"), ("bh", "Benjamini-Hochberg")], initial="holm"
    )
    sequential = forms.BooleanField(
        required=False, initial=True, help_text="Always-valid results under continuous peeking."
    )
    # The power calculator's inputs (filled in below the form by htmx; not stored).
    alpha = forms.FloatField(
        min_value=0.0001,
        max_value=0.5,
        initial=0.05,
        required=False,
        label="Power calculator: alpha",
    )
    power = forms.FloatField(
        min_value=0.5, max_value=0.9999, initial=0.8, required=False, label="Power"
    )
    mde_percent = forms.FloatField(
        min_value=0.01,
        initial=5,
        required=False,
        label="Minimum detectable effect (%)",
        help_text="Relative change of the primary metric's mean to detect.",
    )
    target_units_per_variant = forms.IntegerField(
        min_value=10, initial=1000, help_text="Filled in by the power calculator."
    )

    def cleaned_for_create(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        for calculator_only in ("alpha", "power", "mde_percent"):
            data.pop(calculator_only, None)
        data["treatments"] = [t.strip() for t in data["treatments"].split(",") if t.strip()]
        data["secondary_metrics"] = [
            m for m in data["secondary_metrics"] if m != data["primary_metric"]
        ]
        return data
