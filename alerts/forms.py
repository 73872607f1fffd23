"""Forms of the alert pages: the list's filters, a triage comment, a channel and its routing."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.validators import validate_email
from django.db.models import QuerySet

from flags.models import Environment

from .models import UNRESOLVED, Alert, Channel, ChannelKind, Severity, Source, Subscription
from .triage import COMMENT_MAX
from .webhook_urls import UrlRefused, webhook_url_check

STATUS_FILTERS = [
    ("active", "Open or acknowledged"),
    ("open", "Open"),
    ("acknowledged", "Acknowledged"),
    ("resolved", "Resolved"),
    ("all", "All"),
]


class AlertFilterForm(forms.Form):
    status = forms.ChoiceField(choices=STATUS_FILTERS, required=False)
    source = forms.ChoiceField(choices=[("", "Any source"), *Source.choices], required=False)
    severity = forms.ChoiceField(choices=[("", "Any severity"), *Severity.choices], required=False)


class AlertApiFilterForm(AlertFilterForm):
    """The API's query parameters: the list page's filters, an environment (by key) and the
    page."""

    environment = forms.ModelChoiceField(
        queryset=Environment.objects.all(), to_field_name="key", required=False
    )
    page = forms.IntegerField(min_value=1, max_value=1_000_000, required=False)
    page_size = forms.IntegerField(min_value=1, max_value=200, required=False)


def alerts_filtered(data: dict[str, Any]) -> QuerySet[Alert]:
    """The alerts a filter form's cleaned data selects, newest first (the list page and the
    API). No status means open or acknowledged ("active")."""
    alerts = Alert.objects.select_related("environment", "acknowledged_by", "resolved_by")
    status = data.get("status") or "active"
    if status == "active":
        alerts = alerts.filter(status__in=UNRESOLVED)
    elif status != "all":
        alerts = alerts.filter(status=status)
    if data.get("source"):
        alerts = alerts.filter(source=data["source"])
    if data.get("severity"):
        alerts = alerts.filter(severity=data["severity"])
    if data.get("environment"):  # the API's filter (AlertApiFilterForm)
        alerts = alerts.filter(environment=data["environment"])
    return alerts


class TriageForm(forms.Form):
    comment = forms.CharField(max_length=COMMENT_MAX, required=False, strip=True)


OFF = ""
SUBSCRIPTION_CHOICES = [(OFF, "Off"), *[(s, f"{label} and above") for s, label in Severity.choices]]


class ChannelForm(forms.ModelForm):
    """A channel and, one select per source, the lowest severity it receives (or off)."""

    # Not a URLField: webhook_url_check decides (no assumed scheme, no ftp).
    url = forms.CharField(max_length=500, required=False, label="Webhook URL")

    class Meta:
        model = Channel
        fields = ["name", "kind", "enabled", "recipients", "url", "payload_format"]
        widgets = {"recipients": forms.TextInput()}
        labels = {"recipients": "Email addresses (comma-separated)"}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        current = (
            dict(self.instance.subscriptions.values_list("source", "min_severity"))
            if self.instance.pk
            else {}
        )
        for source, label in Source.choices:
            self.fields[f"sub_{source}"] = forms.ChoiceField(
                label=label,
                choices=SUBSCRIPTION_CHOICES,
                required=False,
                initial=current.get(source, OFF),
            )

    def subscription_fields(self) -> list[forms.BoundField]:
        return [self[f"sub_{source}"] for source in Source.values]

    def clean_recipients(self) -> str:
        addresses = [a.strip() for a in self.cleaned_data["recipients"].split(",") if a.strip()]
        for address in addresses:
            try:
                validate_email(address)
            except forms.ValidationError:
                raise forms.ValidationError(f"{address!r} is not an email address.") from None
        return ", ".join(addresses)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        kind = data.get("kind")
        if kind == ChannelKind.EMAIL and not data.get("recipients"):
            self.add_error("recipients", "An email channel needs at least one address.")
        if kind == ChannelKind.WEBHOOK:
            url = data.get("url") or ""
            if not url:
                self.add_error("url", "A webhook channel needs a URL.")
            else:
                try:
                    webhook_url_check(url)
                except UrlRefused as exc:
                    self.add_error("url", str(exc).removeprefix("url: "))
        return data

    def subscriptions_save(self, channel: Channel) -> None:
        for source in Source.values:
            severity = self.cleaned_data.get(f"sub_{source}") or OFF
            if severity == OFF:
                Subscription.objects.filter(channel=channel, source=source).delete()
            else:
                Subscription.objects.update_or_create(
                    channel=channel, source=source, defaults={"min_severity": severity}
                )
