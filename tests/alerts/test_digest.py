"""Alert storms: each channel sends at most N alerts per hour; the rest wait for one digest in
the next hour, sent to the local webhook receiver and SMTP server (docs/alerts.md)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.test import Client

from alerts.digest import digest_attempt, digests_dispatch_due, digests_write_due
from alerts.models import Alert, Delivery, DeliveryStatus, Digest
from alerts.outbox import delivery_attempt
from flagsite import clock
from tests.startup import django_setup_in_subprocess

from .builders import at_once, budget_alert, channel_email, channel_webhook
from .receivers import smtp_server, webhook_receiver

# Ten past an hour: a burst raised now stays in one window.
BURST_AT = datetime(2026, 12, 2, 10, 10, tzinfo=UTC)


@pytest.fixture
def frozen() -> Iterator[datetime]:
    with clock.freeze(BURST_AT) as at:
        yield at


def _burst(count: int, *, severity: str = "warning", start: int = 0) -> list[Alert]:
    return [
        budget_alert(
            dedupe_key=f"burst:{i}",
            severity=severity,
            title=f"Guardrail {i} broke",
            link=f"/experiments/{i}/",
        )
        for i in range(start, start + count)
    ]


def _deliver_all() -> list[str]:
    ids = Delivery.objects.order_by("id").values_list("id", flat=True)
    return [delivery_attempt(delivery_id=pk) for pk in ids]


def _digests_send() -> list[str]:
    digests_dispatch_due()
    return [digest_attempt(digest_id=pk) for pk in Digest.objects.values_list("id", flat=True)]


def test_a_burst_sends_the_limit_at_once_and_the_rest_in_one_signed_digest_an_hour_later(
    db: Any, settings: Any, frozen: datetime, dispatched: list[Any]
) -> None:
    settings.FLAGSITE_ALERTS_CHANNEL_MAX_PER_HOUR = 20
    with webhook_receiver() as receiver:
        channel = channel_webhook(receiver.url)
        receiver.secret = channel.secret
        # Given a burst of 30 alerts to one channel
        alerts = _burst(30)
        # When the outbox sends them: 20 go now, 10 are held
        statuses = _deliver_all()
        assert statuses.count("delivered") == 20 and statuses.count("held") == 10
        assert len(receiver.requests) == 20
        # and within the hour no digest is written
        clock.advance(timedelta(minutes=49))
        assert digests_write_due() == [] and Digest.objects.count() == 0
        # When the next hour begins, beat writes one digest and hands it to Celery
        clock.advance(timedelta(minutes=2))
        dispatched.clear()
        assert digests_dispatch_due() == 1
        digest = Digest.objects.get()
        assert dispatched == [(digest.pk, 0)]
        assert digest_attempt(digest_id=digest.pk) == "delivered"
        # and nothing more is due
        assert _digests_send() == ["skipped"] and Digest.objects.count() == 1
    assert len(receiver.requests) == 21
    request = receiver.requests[-1]
    assert request["verified"], request["headers"]
    assert request["headers"]["webhook-id"] == f"msg_{digest.message_id.hex}"
    body = request["json"]
    assert body["type"] == "alert.digest" and body["data"]["count"] == 10
    assert [a["id"] for a in body["data"]["alerts"]] == [a.pk for a in alerts[20:]]
    assert body["data"]["alerts"][0]["title"] == "Guardrail 20 broke"
    held = Delivery.objects.filter(digest=digest)
    assert held.count() == 10 and set(held.values_list("status", flat=True)) == {"delivered"}
    # The in-app list is never throttled: every alert is there at once
    assert Alert.objects.filter(status="open").count() == 30


def test_the_digest_is_one_email_listing_severity_title_and_link(
    db: Any, settings: Any, frozen: datetime
) -> None:
    settings.FLAGSITE_ALERTS_CHANNEL_MAX_PER_HOUR = 2
    settings.FLAGSITE_BASE_URL = "https://flags.example.com"
    with smtp_server() as box:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", box.port
        channel_email("ops@example.com")
        _burst(5)
        assert _deliver_all() == ["delivered"] * 2 + ["held"] * 3
        clock.advance(timedelta(hours=1))
        assert _digests_send() == ["delivered"]
    assert len(box.messages) == 3
    text = box.messages[-1]["data"].decode()
    assert "Subject: [flagsite digest] 3 alerts held back" in text
    assert "- [warning] Guardrail 2 broke\n  https://flags.example.com/experiments/2/" in (
        text.replace("\r\n", "\n")
    )
    assert "Guardrail 4 broke" in text and "Guardrail 1 broke" not in text


def test_the_slack_digest_is_one_message(db: Any, settings: Any, frozen: datetime) -> None:
    settings.FLAGSITE_ALERTS_CHANNEL_MAX_PER_HOUR = 1
    with webhook_receiver() as receiver:
        channel = channel_webhook(receiver.url, payload_format="slack")
        receiver.secret = channel.secret
        _burst(3)
        _deliver_all()
        clock.advance(timedelta(hours=1))
        assert _digests_send() == ["delivered"]
    body = receiver.requests[-1]["json"]
    assert body["text"].startswith("2 alerts held back by this channel's rate limit\n")
    assert "• [WARNING] Guardrail 1 broke </experiments/1/|Open>" in body["text"]
    assert receiver.requests[-1]["verified"]


def test_criticals_count_but_the_first_critical_of_a_window_always_goes(
    db: Any, settings: Any, frozen: datetime
) -> None:
    settings.FLAGSITE_ALERTS_CHANNEL_MAX_PER_HOUR = 2
    with webhook_receiver() as receiver:
        channel_webhook(receiver.url)
        _burst(3)
        _burst(2, severity="critical", start=3)
        assert _deliver_all() == ["delivered", "delivered", "held", "delivered", "held"]
    sent = [r["json"]["data"]["title"] for r in receiver.requests]
    assert sent == ["Guardrail 0 broke", "Guardrail 1 broke", "Guardrail 3 broke"]


def test_held_alerts_show_on_the_alert_and_channel_pages_then_their_digest(
    db: Any, settings: Any, frozen: datetime, admin_user: Any
) -> None:
    settings.FLAGSITE_ALERTS_CHANNEL_MAX_PER_HOUR = 1
    client = Client()
    client.force_login(admin_user)
    with webhook_receiver() as receiver:
        channel = channel_webhook(receiver.url)
        _, second = _burst(2)
        _deliver_all()
        page = client.get(f"/alerts/{second.pk}/").content.decode()
        assert "Held for the digest" in page and "held for the next digest" in page
        clock.advance(timedelta(hours=1))
        _digests_send()
    digest = Digest.objects.get()
    page = client.get(f"/alerts/{second.pk}/").content.decode()
    assert f"sent in digest {digest.pk}" in page
    assert f"sent in digest {digest.pk}" in client.get(f"/alerts/channels/{channel.pk}/").text
    api = client.get(f"/api/v1/alerts/{second.pk}").json()
    assert api["deliveries"][0]["status"] == "delivered"
    assert api["deliveries"][0]["digest"] == digest.pk


def test_a_channel_disabled_while_alerts_were_held_gets_no_digest(
    db: Any, settings: Any, frozen: datetime
) -> None:
    settings.FLAGSITE_ALERTS_CHANNEL_MAX_PER_HOUR = 1
    with webhook_receiver() as receiver:
        channel = channel_webhook(receiver.url)
        _burst(3)
        _deliver_all()
        channel.enabled = False
        channel.save()
        clock.advance(timedelta(hours=1))
        assert _digests_send() == ["failed"]
    assert len(receiver.requests) == 1
    assert Digest.objects.get().last_error == "channel disabled"
    held = Delivery.objects.exclude(digest=None)
    assert set(held.values_list("status", "last_error")) == {("failed", "channel disabled")}


def test_a_failed_digest_is_retried_with_backoff(
    db: Any, settings: Any, frozen: datetime, dispatched: list[Any]
) -> None:
    settings.FLAGSITE_ALERTS_CHANNEL_MAX_PER_HOUR = 1
    settings.FLAGSITE_ALERTS_RETRY_BASE_SECONDS = 30
    with webhook_receiver() as receiver:
        channel_webhook(receiver.url)
        _burst(2)
        _deliver_all()
        clock.advance(timedelta(hours=1))
        receiver.statuses = [503]
        digests_write_due()
        digest = Digest.objects.get()
        dispatched.clear()
        assert digest_attempt(digest_id=digest.pk) == "pending"
        assert dispatched == [(digest.pk, 30.0)]
        assert Delivery.objects.get(digest=digest).status == DeliveryStatus.HELD
        assert digest_attempt(digest_id=digest.pk) == "skipped"  # not due yet
        clock.advance(timedelta(seconds=30))
        assert digest_attempt(digest_id=digest.pk) == "delivered"
    assert [r["headers"]["webhook-id"] for r in receiver.requests[1:]] == [
        f"msg_{digest.message_id.hex}"
    ] * 2
    # Each try is recorded, as a delivery's are
    assert list(digest.tries.values_list("number", "status_code", "ok")) == [
        (1, 503, False),
        (2, 200, True),
    ]


def test_zero_means_no_limit(db: Any, settings: Any, frozen: datetime) -> None:
    settings.FLAGSITE_ALERTS_CHANNEL_MAX_PER_HOUR = 0
    with webhook_receiver() as receiver:
        channel_webhook(receiver.url)
        _burst(30)
        assert _deliver_all() == ["delivered"] * 30
        clock.advance(timedelta(hours=1))
        assert digests_write_due() == []
    assert len(receiver.requests) == 30


def test_a_channel_test_is_never_held(db: Any, settings: Any, frozen: datetime) -> None:
    from alerts.outbox import channel_test_raise

    settings.FLAGSITE_ALERTS_CHANNEL_MAX_PER_HOUR = 1
    with webhook_receiver() as receiver:
        channel = channel_webhook(receiver.url)
        _burst(1)
        _deliver_all()
        test = channel_test_raise(channel=channel)
        delivery = Delivery.objects.get(alert=test)
        assert delivery_attempt(delivery_id=delivery.pk) == "delivered"
    assert len(receiver.requests) == 2


@pytest.mark.django_db(transaction=True)
def test_two_workers_send_one_digest(frozen: datetime, settings: Any) -> None:
    from tests.services import postgres_url

    postgres_url()  # row locks: SQLite serialises writes instead
    settings.FLAGSITE_ALERTS_CHANNEL_MAX_PER_HOUR = 2
    with webhook_receiver(delay=0.5) as receiver:
        channel_webhook(receiver.url)
        _burst(6)
        _deliver_all()
        clock.advance(timedelta(hours=1))
        results = at_once(_digests_send, _digests_send)
    assert sorted(r for rs in results for r in rs) == ["delivered", "skipped"]
    assert len(receiver.requests) == 3 and receiver.requests[-1]["json"]["data"]["count"] == 4
    assert Digest.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_workers_admitting_one_channel_count_one_after_the_other(
    frozen: datetime, settings: Any
) -> None:
    from tests.services import postgres_url

    postgres_url()
    settings.FLAGSITE_ALERTS_CHANNEL_MAX_PER_HOUR = 1
    with webhook_receiver() as receiver:
        channel_webhook(receiver.url)
        _burst(2)
        first, second = Delivery.objects.values_list("id", flat=True)
        results = at_once(
            lambda: delivery_attempt(delivery_id=first),
            lambda: delivery_attempt(delivery_id=second),
        )
    assert sorted(results) == ["delivered", "held"]
    assert len(receiver.requests) == 1


@pytest.mark.parametrize("value", ["-1", "10001", "many"])
def test_an_out_of_range_limit_is_refused_at_start(value: str) -> None:
    env = os.environ | {"FLAGSITE_ALERTS_CHANNEL_MAX_PER_HOUR": value, "DEBUG": "true"}
    proc = django_setup_in_subprocess(env)
    assert proc.returncode != 0
    assert "FLAGSITE_ALERTS_CHANNEL_MAX_PER_HOUR" in proc.stderr


@pytest.mark.parametrize("value", ["0", "1", "10000"])
def test_zero_and_the_range_start(value: str) -> None:
    env = os.environ | {"FLAGSITE_ALERTS_CHANNEL_MAX_PER_HOUR": value, "DEBUG": "true"}
    assert django_setup_in_subprocess(env).returncode == 0


def test_each_channel_gets_its_own_digest(db: Any, settings: Any, frozen: datetime) -> None:
    settings.FLAGSITE_ALERTS_CHANNEL_MAX_PER_HOUR = 1
    with webhook_receiver() as first, webhook_receiver() as second:
        channel_webhook(first.url, name="first")
        channel_webhook(second.url, name="second")
        _burst(3)
        assert sorted(_deliver_all()) == ["delivered"] * 2 + ["held"] * 4
        clock.advance(timedelta(hours=1))
        assert _digests_send() == ["delivered", "delivered"]
        assert digests_write_due() == []
    for receiver in (first, second):
        assert [r["json"].get("type") for r in receiver.requests] == [
            "alert.raised",
            "alert.digest",
        ]
        assert receiver.requests[-1]["json"]["data"]["count"] == 2
