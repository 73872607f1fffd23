"""Channel settings: admins choose where alerts go, per source and severity."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from alerts.models import Channel, Subscription

from .builders import channel_webhook


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


WEBHOOK = {
    "name": "ops-hook",
    "kind": "webhook",
    "enabled": "on",
    "url": "https://hooks.example.com/flagsite",
    "payload_format": "standard",
    "recipients": "",
    "sub_budget": "warning",
    "sub_rollout": "critical",
    "sub_anomaly": "",
    "sub_experiment": "",
    "sub_system": "",
}


def test_an_admin_creates_a_webhook_channel_with_its_routing(
    admin_user: Any, settings: Any
) -> None:
    settings.FLAGSITE_ALERTS_WEBHOOK_ALLOW_PRIVATE = True  # no DNS lookups in a unit test
    response = _client(admin_user).post("/alerts/channels/new/", WEBHOOK)
    assert response.status_code == 302
    channel = Channel.objects.get(name="ops-hook")
    assert channel.secret.startswith("whsec_")
    assert dict(channel.subscriptions.values_list("source", "min_severity")) == {
        "budget": "warning",
        "rollout": "critical",
    }
    page = _client(admin_user).get(response["Location"]).content.decode()
    assert channel.secret in page


def test_editing_changes_and_removes_subscriptions(admin_user: Any) -> None:
    channel = channel_webhook("https://hooks.example.com/x")
    data = WEBHOOK | {"name": channel.name, "sub_budget": "", "sub_rollout": "info"}
    assert _client(admin_user).post(f"/alerts/channels/{channel.pk}/", data).status_code == 302
    assert dict(channel.subscriptions.values_list("source", "min_severity")) == {"rollout": "info"}


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"url": "ftp://example.com/"}, "url", "http:// or https://"),
        ({"url": ""}, "url", "needs a URL"),
        ({"url": "http://127.0.0.1:8080/"}, "url", "FLAGSITE_ALERTS_WEBHOOK_ALLOW_PRIVATE"),
        ({"kind": "email", "recipients": ""}, "recipients", "at least one address"),
        ({"kind": "email", "recipients": "ops@example.com, nope"}, "recipients", "not an email"),
        ({"kind": "sms"}, "kind", "valid choice"),
        ({"sub_budget": "fatal"}, "sub_budget", "valid choice"),
        ({"name": ""}, "name", "required"),
    ],
)
def test_malformed_channels_are_refused_naming_the_field(
    admin_user: Any, settings: Any, changes: dict[str, str], field: str, message: str
) -> None:
    settings.FLAGSITE_ALERTS_WEBHOOK_ALLOW_PRIVATE = False
    response = _client(admin_user).post("/alerts/channels/new/", WEBHOOK | changes)
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert field in errors and message in " ".join(errors[field])
    assert not Channel.objects.exists()


def test_rotating_the_secret_changes_it(admin_user: Any) -> None:
    channel = channel_webhook("https://hooks.example.com/x")
    old = channel.secret
    _client(admin_user).post(f"/alerts/channels/{channel.pk}/rotate-secret/")
    channel.refresh_from_db()
    assert channel.secret != old and channel.secret.startswith("whsec_")


def test_deleting_a_channel_removes_its_subscriptions(admin_user: Any) -> None:
    channel = channel_webhook("https://hooks.example.com/x")
    assert _client(admin_user).post(f"/alerts/channels/{channel.pk}/delete/").status_code == 302
    assert not Channel.objects.exists() and not Subscription.objects.exists()


@pytest.mark.parametrize("who", ["editor_user", "viewer_user"])
def test_only_admins_see_or_change_channels(request: Any, who: str) -> None:
    user = request.getfixturevalue(who)
    channel = channel_webhook("https://hooks.example.com/x")
    client = _client(user)
    assert client.get("/alerts/channels/").status_code == 403
    assert client.get(f"/alerts/channels/{channel.pk}/").status_code == 403
    assert client.post("/alerts/channels/new/", WEBHOOK).status_code == 403
    assert client.post(f"/alerts/channels/{channel.pk}/delete/").status_code == 403
    assert client.post(f"/alerts/channels/{channel.pk}/rotate-secret/").status_code == 403
    assert Channel.objects.count() == 1


def test_the_channel_list_shows_routing_and_outbox(admin_user: Any) -> None:
    channel_webhook("https://hooks.example.com/x", sources={"budget": "critical"})
    html = _client(admin_user).get("/alerts/channels/").content.decode()
    assert "hooks.example.com" in html and "budget ≥ critical" in html
