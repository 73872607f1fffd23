from __future__ import annotations

from django import forms

from .models import ModelPrice


class ModelPriceForm(forms.ModelForm):
    effective_from = forms.DateTimeField(
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text="UTC. Calls at or after this time use this price, until the model's next price.",
    )

    class Meta:
        model = ModelPrice
        fields = ["model", "input_per_million", "output_per_million", "effective_from"]
