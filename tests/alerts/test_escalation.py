"""Escalation: a raise under the key of an open or acknowledged alert at a higher severity
raises the stored severity, records the step, sends an acknowledged alert back to open and
notifies the channels the new severity reaches and the old one did not (through the outbox, in
the caller's transaction, once). Deliveries go to the local webhook receiver and SMTP server."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import transaction
from django.test import Client

from alerts.api import raise_alert, resolve_alert
from alerts.models import Alert, Delivery, Subscription
from alerts.outbox import delivery_attempt
from alerts.triage import alert_acknowledge

from .builders import budget_alert, channel_email, channel_webhook, two_transactions
from .receivers import smtp_server, webhook_receiver

KEY = "budget:1:2026-12-01"


def _raise(severity: str, **extra: Any) -> Alert:
    args = {"dedupe_key": KEY, "severity": severity}
    return budget_alert(**(args | extra))


def _deliver_new(before: set[int]) -> list[str]:
    ids = set(Delivery.objects.values_list("id", flat=True)) - before
    return [delivery_attempt(delivery_id=pk) for pk in sorted(ids)]


def _delivery_ids() -> set[int]:
    return set(Delivery.objects.values_list("id", flat=True))


def test_a_critical_raise_escalates_a_warning_and_pages_the_critical_only_channel(
    db: Any,
) -> None:
    with webhook_receiver() as everything, webhook_receiver() as pager:
        channel_webhook(everything.url, sources={"budget": "warning"}, name="team")
        paging = channel_webhook(pager.url, sources={"budget": "critical"}, name="pager")
        pager.secret = paging.secret
        # Given a warning that reached the team channel only
        warning = _raise("warning", title="Budget at 80 %", details={"spent": 80})
        assert _deliver_new(set()) == ["delivered"] and not pager.requests
        seen = _delivery_ids()
        # When the same key is raised as critical
        escalated = _raise("critical", title="Budget at 100 %", details={"spent": 100})
        # Then it is the same alert, more severe, describing the new condition
        assert escalated.pk == warning.pk
        alert = Alert.objects.get()
        assert (alert.severity, alert.status, alert.title) == (
            "critical",
            "open",
            "Budget at 100 %",
        )
        assert alert.details == {"spent": 100}
        [step] = alert.escalations
        assert (step["from"], step["to"], step["title"]) == (
            "warning",
            "critical",
            "Budget at 80 %",
        )
        # and the pager (critical only) is notified, signed; the team channel not a second time
        assert _deliver_new(seen) == ["delivered"]
    assert len(everything.requests) == 1
    [page] = pager.requests
    assert page["verified"]
    data = page["json"]["data"]
    assert page["json"]["type"] == "alert.raised"
    assert (data["id"], data["severity"], data["title"]) == (alert.pk, "critical", alert.title)
    assert [(s["from"], s["to"]) for s in data["escalations"]] == [("warning", "critical")]


def test_raising_the_higher_severity_again_notifies_nobody(db: Any) -> None:
    channel_webhook("https://hooks.example.com/a", sources={"budget": "critical"})
    _raise("warning")
    _raise("critical")
    assert Delivery.objects.count() == 1
    _raise("critical", title="Budget at 101 %")
    alert = Alert.objects.get()
    assert Delivery.objects.count() == 1 and len(alert.escalations) == 1
    assert alert.title == "Budget 'all' at 80 %"  # an equal raise changes nothing


@pytest.mark.parametrize("severity", ["info", "warning"])
def test_a_lower_or_equal_severity_changes_nothing(db: Any, severity: str) -> None:
    channel_webhook("https://hooks.example.com/a")
    before = _raise("warning")
    rows = _delivery_ids()
    after = _raise(severity, title="Something else", body="other")
    after.refresh_from_db()
    assert (after.pk, after.severity, after.title) == (before.pk, "warning", before.title)
    assert after.escalations == [] and after.body == before.body
    assert _delivery_ids() == rows


def test_an_acknowledged_alert_that_escalates_goes_back_to_open(db: Any, editor_user: Any) -> None:
    alert = _raise("info")
    alert_acknowledge(alert_id=alert.pk, user=editor_user, comment="watching")
    _raise("warning")
    alert.refresh_from_db()
    assert alert.status == "open" and alert.acknowledged_at is None
    assert alert.acknowledged_by is None and alert.acknowledged_comment == ""
    [step] = alert.escalations
    assert step["acknowledged_by"] == "eddie" and step["acknowledged_at"]
    # The badge counts it again, and its page says what happened
    client = Client()
    client.force_login(editor_user)
    assert ">1<span" in client.get("/alerts/badge/").content.decode()
    page = client.get(f"/alerts/{alert.pk}/").content.decode()
    assert "from info to warning" in page and "eddie had acknowledged it" in page


def test_two_steps_are_both_recorded(db: Any) -> None:
    channel_webhook("https://hooks.example.com/w", sources={"budget": "warning"}, name="w")
    channel_webhook("https://hooks.example.com/c", sources={"budget": "critical"}, name="c")
    _raise("info")
    assert Delivery.objects.count() == 0
    _raise("warning")
    _raise("critical")
    alert = Alert.objects.get()
    assert [(s["from"], s["to"]) for s in alert.escalations] == [
        ("info", "warning"),
        ("warning", "critical"),
    ]
    assert sorted(Delivery.objects.values_list("channel__name", flat=True)) == ["c", "w"]


def test_the_escalation_is_in_the_callers_transaction(
    db: Any, django_capture_on_commit_callbacks: Any, dispatched: list[Any]
) -> None:
    channel_webhook("https://hooks.example.com/c", sources={"budget": "critical"})
    _raise("warning")
    # A caller whose transaction rolls back leaves the alert as it was, with no outbox row
    with pytest.raises(RuntimeError), transaction.atomic():
        _raise("critical")
        raise RuntimeError("the caller failed")
    alert = Alert.objects.get()
    assert alert.severity == "warning" and alert.escalations == []
    assert not Delivery.objects.exists()
    # A committed one hands the new row to Celery on commit
    with django_capture_on_commit_callbacks(execute=True):
        _raise("critical")
    assert dispatched == [(Delivery.objects.get().pk, 0)]


def test_a_channel_that_already_has_the_alert_gets_no_second_delivery(db: Any) -> None:
    channel = channel_webhook("https://hooks.example.com/a", sources={"budget": "warning"})
    _raise("warning")
    # The channel is narrowed to criticals after it received the warning
    Subscription.objects.filter(channel=channel).update(min_severity="critical")
    _raise("critical")
    assert Delivery.objects.count() == 1
    assert Alert.objects.get().severity == "critical"


def test_a_resolved_alert_does_not_escalate(db: Any) -> None:
    channel_webhook("https://hooks.example.com/c", sources={"budget": "critical"})
    _raise("warning")
    resolve_alert(source="budget", dedupe_key=KEY)
    alert = _raise("critical")
    assert (alert.status, alert.severity, alert.escalations) == ("resolved", "warning", [])
    assert not Delivery.objects.exists()
    # reopen=True opens a fresh critical alert, which notifies as a new one
    fresh = raise_alert(
        source="budget", dedupe_key=KEY, severity="critical", title="Again", reopen=True
    )
    assert fresh.pk != alert.pk and Delivery.objects.get().alert == fresh


def test_an_email_channel_is_told_it_was_escalated(db: Any, settings: Any) -> None:
    with smtp_server() as box:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", box.port
        channel_email("oncall@example.com", sources={"budget": "critical"})
        _raise("warning")
        assert not Delivery.objects.exists()
        _raise("critical", title="Budget at 100 %")
        assert _deliver_new(set()) == ["delivered"]
    [message] = box.messages
    text = message["data"].decode()
    assert message["to"] == ["oncall@example.com"]
    assert "[flagsite critical] Budget at 100 %" in text
    assert "Severity: critical (escalated from warning)" in text


def test_the_api_shows_the_escalations(db: Any, viewer_user: Any) -> None:
    _raise("warning")
    alert = _raise("critical")
    client = Client()
    client.force_login(viewer_user)
    body = client.get(f"/api/v1/alerts/{alert.pk}").json()
    assert body["severity"] == "critical"
    assert [(s["from"], s["to"]) for s in body["escalations"]] == [("warning", "critical")]


def _race(first_severity: str, second_severity: str) -> None:
    two_transactions(lambda: _raise(first_severity), lambda: _raise(second_severity))


@pytest.mark.django_db(transaction=True)
def test_two_transactions_escalating_at_once_escalate_once() -> None:
    from tests.services import postgres_url

    postgres_url()  # row locks: SQLite would serialise the whole database instead
    channel_webhook("https://hooks.example.com/c", sources={"budget": "critical"})
    _raise("warning")
    _race("critical", "critical")
    alert = Alert.objects.get()
    assert alert.severity == "critical" and len(alert.escalations) == 1
    assert Delivery.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_critical_raised_while_the_warning_is_being_inserted_escalates_it() -> None:
    from tests.services import postgres_url

    postgres_url()
    channel_webhook("https://hooks.example.com/c", sources={"budget": "critical"})
    _race("warning", "critical")
    alert = Alert.objects.get()
    assert alert.severity == "critical"
    assert [(s["from"], s["to"]) for s in alert.escalations] == [("warning", "critical")]
    assert Delivery.objects.count() == 1
