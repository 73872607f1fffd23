"""Delivering the outbox: signed webhooks to a local receiver, email to a local SMTP server,
attempts recorded, retries with backoff, one channel's failure kept from the others."""

from __future__ import annotations

import socket
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from alerts.models import Delivery, DeliveryStatus
from alerts.outbox import delivery_attempt, outbox_dispatch_due, retry_delay

from .builders import at_once, budget_alert, channel_email, channel_webhook
from .receivers import smtp_server, webhook_receiver


def _deliver_all() -> list[str]:
    return [
        delivery_attempt(delivery_id=pk) for pk in Delivery.objects.values_list("id", flat=True)
    ]


def test_a_webhook_arrives_signed_the_standard_webhooks_way(db: Any) -> None:
    with webhook_receiver() as receiver:
        channel = channel_webhook(receiver.url)
        receiver.secret = channel.secret
        alert = budget_alert(details={"spent_usd": 80.5})
        assert _deliver_all() == ["delivered"]
    [request] = receiver.requests
    assert request["verified"], request["headers"]
    assert request["headers"]["webhook-signature"].startswith("v1,")
    delivery = Delivery.objects.get()
    assert request["headers"]["webhook-id"] == f"msg_{delivery.message_id.hex}"
    assert request["json"]["type"] == "alert.raised"
    data = request["json"]["data"]
    assert (data["id"], data["source"], data["severity"]) == (alert.pk, "budget", "warning")
    assert data["details"] == {"spent_usd": 80.5} and data["link"] == "/costs/budgets/1/"


def test_the_attempt_is_recorded_with_only_an_excerpt_of_the_answer(db: Any) -> None:
    with webhook_receiver() as receiver:
        channel_webhook(receiver.url)
        budget_alert()
        _deliver_all()
    attempt = Delivery.objects.get().tries.get()
    assert attempt.ok and attempt.status_code == 200 and attempt.number == 1
    assert attempt.response_excerpt.startswith("received ") and len(attempt.response_excerpt) == 200


def test_links_are_absolute_with_a_base_url(db: Any, settings: Any) -> None:
    settings.FLAGSITE_BASE_URL = "https://flags.example.com/"
    with webhook_receiver() as receiver:
        channel_webhook(receiver.url)
        budget_alert()
        _deliver_all()
    assert (
        receiver.requests[0]["json"]["data"]["link"] == "https://flags.example.com/costs/budgets/1/"
    )


def test_the_slack_option_sends_text_and_blocks(db: Any) -> None:
    with webhook_receiver() as receiver:
        channel = channel_webhook(receiver.url, payload_format="slack")
        receiver.secret = channel.secret
        budget_alert()
        _deliver_all()
    body = receiver.requests[0]["json"]
    assert body["text"].startswith("[WARNING] Budget 'all' at 80 %")
    assert body["blocks"][0] == {
        "type": "section",
        "text": {"type": "mrkdwn", "text": "*[WARNING] Budget 'all' at 80 %*"},
    }
    assert receiver.requests[0]["verified"]


def test_a_failed_attempt_is_retried_with_exponential_backoff(
    db: Any, settings: Any, dispatched: list[Any]
) -> None:
    settings.FLAGSITE_ALERTS_RETRY_BASE_SECONDS = 30
    settings.FLAGSITE_ALERTS_MAX_ATTEMPTS = 3
    with webhook_receiver(statuses=[500, 503, 500]) as receiver:
        channel_webhook(receiver.url)
        budget_alert()
        delivery = Delivery.objects.get()
        dispatched.clear()
        # First attempt fails: pending again, 30 s later, re-dispatched with that countdown
        before = timezone.now()
        assert delivery_attempt(delivery_id=delivery.pk) == "pending"
        delivery.refresh_from_db()
        assert before + timedelta(seconds=30) <= delivery.next_attempt_at
        assert delivery.next_attempt_at <= timezone.now() + timedelta(seconds=30)
        assert dispatched == [(delivery.pk, 30.0)]
        # Not due yet: a second worker (or beat) given it does nothing
        assert delivery_attempt(delivery_id=delivery.pk) == "skipped"
        # Due: second attempt fails, 60 s; third fails, attempts used up
        Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
        assert delivery_attempt(delivery_id=delivery.pk) == "pending"
        delivery.refresh_from_db()
        assert delivery.next_attempt_at >= timezone.now() + timedelta(seconds=59)
        Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
        assert delivery_attempt(delivery_id=delivery.pk) == "failed"
    tries = list(delivery.tries.values_list("number", "status_code", "error"))
    assert tries == [(1, 500, "HTTP 500"), (2, 503, "HTTP 503"), (3, 500, "HTTP 500")]
    assert len(receiver.requests) == 3
    # The same webhook-id on every retry, so receivers can drop duplicates
    assert len({r["headers"]["webhook-id"] for r in receiver.requests}) == 1


def test_backoff_doubles_up_to_its_cap(settings: Any) -> None:
    settings.FLAGSITE_ALERTS_RETRY_BASE_SECONDS = 30
    settings.FLAGSITE_ALERTS_RETRY_MAX_SECONDS = 3600
    assert [retry_delay(n).total_seconds() for n in range(1, 9)] == [
        30,
        60,
        120,
        240,
        480,
        960,
        1920,
        3600,
    ]


def test_a_failing_channel_never_blocks_the_others(db: Any) -> None:
    with webhook_receiver(status=500) as broken, webhook_receiver() as working:
        channel_webhook(broken.url, name="broken")
        channel_webhook(working.url, name="working")
        with socket.socket() as s:  # a port nobody listens on
            s.bind(("127.0.0.1", 0))
            dead = f"http://127.0.0.1:{s.getsockname()[1]}/"
        channel_webhook(dead, name="dead")
        channel_email("", name="no-recipients")
        budget_alert()
        statuses = dict(
            zip(
                Delivery.objects.values_list("channel__name", flat=True),
                _deliver_all(),
                strict=True,
            )
        )
    assert statuses == {
        "broken": "pending",
        "working": "delivered",
        "dead": "pending",
        "no-recipients": "failed",
    }
    dead_try = Delivery.objects.get(channel__name="dead").tries.get()
    assert dead_try.status_code is None and "refused" in dead_try.error.lower()


def test_a_url_that_turned_private_is_refused_at_send_time(db: Any, settings: Any) -> None:
    with webhook_receiver() as receiver:
        channel_webhook(receiver.url)
        budget_alert()
        settings.FLAGSITE_ALERTS_WEBHOOK_ALLOW_PRIVATE = False
        assert _deliver_all() == ["failed"]
    assert receiver.requests == []
    assert "private" in Delivery.objects.get().last_error


def test_a_redirect_is_not_followed(db: Any) -> None:
    with webhook_receiver(status=302) as receiver:
        channel_webhook(receiver.url)
        budget_alert()
        assert _deliver_all() == ["pending"]
    assert len(receiver.requests) == 1
    assert Delivery.objects.get().tries.get().status_code == 302


def test_a_disabled_channel_is_not_sent_to(db: Any) -> None:
    with webhook_receiver() as receiver:
        channel = channel_webhook(receiver.url)
        budget_alert()
        channel.enabled = False
        channel.save()
        assert _deliver_all() == ["failed"]
    assert receiver.requests == []


def test_email_reaches_a_local_smtp_server(db: Any, settings: Any) -> None:
    with smtp_server() as box:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", box.port
        settings.DEFAULT_FROM_EMAIL = "flagsite@example.com"
        channel_email("ops@example.com, lead@example.com")
        alert = budget_alert(severity="critical", title="Budget 'all' at 100 %")
        assert _deliver_all() == ["delivered"]
    [message] = box.messages
    assert message["from"] == "flagsite@example.com"
    assert message["to"] == ["ops@example.com", "lead@example.com"]
    text = message["data"].decode()
    assert "Subject: [flagsite critical] Budget 'all' at 100 %" in text
    assert f"X-Flagsite-Alert: {alert.pk}" in text and "/costs/budgets/1/" in text


def test_an_unreachable_smtp_server_is_a_failed_attempt_retried(db: Any, settings: Any) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", s.getsockname()[1]
        channel_email("ops@example.com")
        budget_alert()
        assert _deliver_all() == ["pending"]
    assert "ConnectionRefusedError" in Delivery.objects.get().last_error


def test_an_alert_raised_while_the_broker_is_down_stays_in_the_outbox_until_beat(
    db: Any, monkeypatch: Any, django_capture_on_commit_callbacks: Any, dispatched: list[Any]
) -> None:
    from .receivers import broker_down

    with webhook_receiver() as receiver:
        channel_webhook(receiver.url)
        # Given a broker nobody answers at, when an alert is raised and committed
        with broker_down(monkeypatch), django_capture_on_commit_callbacks(execute=True):
            alert = budget_alert()
        # Then the alert is saved and its delivery waits in the outbox
        delivery = Delivery.objects.get(alert=alert)
        assert delivery.status == DeliveryStatus.PENDING and delivery.attempts == 0
        assert dispatched == []
        # When the broker is back, beat's minute job hands it over and a worker sends it
        assert outbox_dispatch_due() == 1 and dispatched == [(delivery.pk, 0)]
        assert delivery_attempt(delivery_id=delivery.pk) == "delivered"
        # and nothing is due any more
        assert outbox_dispatch_due() == 0
    assert len(receiver.requests) == 1


def test_a_delivery_claimed_by_a_worker_that_died_is_due_again_after_its_lease(db: Any) -> None:
    with webhook_receiver() as receiver:
        channel_webhook(receiver.url)
        budget_alert()
        delivery = Delivery.objects.get()
        Delivery.objects.filter(pk=delivery.pk).update(
            status="sending", attempts=1, lease_until=timezone.now() + timedelta(minutes=1)
        )
        assert delivery_attempt(delivery_id=delivery.pk) == "skipped"
        Delivery.objects.filter(pk=delivery.pk).update(
            lease_until=timezone.now() - timedelta(seconds=1)
        )
        assert delivery_attempt(delivery_id=delivery.pk) == "delivered"
    assert Delivery.objects.get().attempts == 2


def test_an_unknown_delivery_is_skipped(db: Any) -> None:
    assert delivery_attempt(delivery_id=987654) == "skipped"


@pytest.mark.django_db(transaction=True)
def test_two_workers_given_the_same_delivery_send_it_once() -> None:
    from tests.services import postgres_url

    postgres_url()  # row locks: SQLite serialises instead, tested above by the claim's condition
    with webhook_receiver(delay=0.5) as receiver:
        channel_webhook(receiver.url)
        budget_alert()
        delivery_id = Delivery.objects.get().pk
        results = at_once(*[lambda: delivery_attempt(delivery_id=delivery_id)] * 2)
    assert sorted(results) == ["delivered", "skipped"]
    assert len(receiver.requests) == 1
    assert Delivery.objects.get().tries.count() == 1


def test_slack_control_characters_are_escaped(db: Any, settings: Any) -> None:
    from alerts.channels import payload_slack

    settings.FLAGSITE_BASE_URL = "https://flags.example.com"
    alert = budget_alert(title="Spend > limit & <!channel>", body="a<b")
    payload = payload_slack(alert)
    assert payload["text"].startswith("[WARNING] Spend &gt; limit &amp; &lt;!channel&gt;\na&lt;b")
    assert payload["text"].endswith("\n<https://flags.example.com/costs/budgets/1/|Open>")
