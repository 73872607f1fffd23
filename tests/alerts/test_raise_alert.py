"""raise_alert: the contract every source codes against (SHARED_CONTRACTS.md, "Alerts")."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import transaction

from alerts.api import raise_alert, resolve_alert
from alerts.models import Alert, Delivery

from .builders import budget_alert, channel_email, channel_webhook, two_transactions


def test_it_opens_an_alert(db: Any) -> None:
    alert = budget_alert(details={"spent": 80.0})
    assert alert.status == "open"
    assert (alert.source, alert.severity, alert.details) == ("budget", "warning", {"spent": 80.0})


def test_raising_twice_returns_the_same_alert_and_writes_no_second_delivery(db: Any) -> None:
    channel_webhook("https://hooks.example.com/x")
    first = budget_alert()
    second = budget_alert(title="changed title")
    assert second.pk == first.pk and second.title == first.title
    assert Delivery.objects.count() == 1


def test_an_acknowledged_alert_is_still_the_same_alert(db: Any) -> None:
    first = budget_alert()
    Alert.objects.filter(pk=first.pk).update(status="acknowledged")
    assert budget_alert().pk == first.pk


def test_a_resolved_alert_is_not_raised_again_unless_reopen(db: Any) -> None:
    first = budget_alert()
    resolve_alert(source="budget", dedupe_key=first.dedupe_key)
    again = budget_alert()
    assert again.pk == first.pk and again.status == "resolved"
    reopened = budget_alert(reopen=True)
    assert reopened.pk != first.pk and reopened.status == "open"


def test_the_same_key_from_another_source_is_another_alert(db: Any) -> None:
    assert budget_alert().pk != budget_alert(source="anomaly").pk


def test_outbox_rows_follow_the_subscriptions(db: Any) -> None:
    critical_only = channel_webhook(
        "https://a.example.com", name="a", sources={"budget": "critical"}
    )
    warnings = channel_email("ops@example.com", name="b", sources={"budget": "warning"})
    channel_webhook("https://c.example.com", name="c", sources={"rollout": "info"})
    channel_webhook("https://d.example.com", name="d", enabled=False)
    alert = budget_alert(severity="warning")
    assert {d.channel for d in alert.deliveries.all()} == {warnings}
    crit = budget_alert(severity="critical", dedupe_key="k2")
    assert {d.channel for d in crit.deliveries.all()} == {warnings, critical_only}


def test_the_alert_and_its_outbox_rows_roll_back_with_the_callers_transaction(db: Any) -> None:
    channel_webhook("https://hooks.example.com/x")
    with pytest.raises(RuntimeError), transaction.atomic():
        budget_alert()
        raise RuntimeError("the caller fails after raising")
    assert not Alert.objects.exists() and not Delivery.objects.exists()


def test_delivery_is_handed_to_celery_only_on_commit(
    db: Any, monkeypatch: Any, django_capture_on_commit_callbacks: Any
) -> None:
    from alerts import tasks

    sent: list[Any] = []
    monkeypatch.setattr(tasks.delivery_send, "apply_async", lambda args, **kw: sent.append(args))
    channel_webhook("https://hooks.example.com/x")
    with django_capture_on_commit_callbacks(execute=True):
        alert = budget_alert()
        assert sent == []
    assert sent == [(alert.deliveries.get().pk,)]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("source", "nope"),
        ("severity", "fatal"),
        ("title", "   "),
        ("dedupe_key", ""),
        ("dedupe_key", "k" * 201),
        ("link", "/x" * 251),
        ("details", ["not", "a", "dict"]),
        ("body", "nul \x00 inside"),
        ("title", "lone \ud800 surrogate"),
        ("details.note", {"note": "nul \x00"}),
    ],
)
def test_malformed_arguments_are_refused_naming_the_field(db: Any, field: str, value: Any) -> None:
    with pytest.raises(ValueError, match=field):
        budget_alert(**{field.split(".")[0]: value})
    assert not Alert.objects.exists()


def test_details_that_are_not_json_are_refused_before_anything_is_written(db: Any) -> None:
    with pytest.raises(TypeError):
        budget_alert(details={"when": object()})


def test_resolve_alert_resolves_only_unresolved(db: Any) -> None:
    assert resolve_alert(source="budget", dedupe_key="none") is None
    alert = budget_alert()
    resolved = resolve_alert(source="budget", dedupe_key=alert.dedupe_key)
    assert resolved is not None and resolved.status == "resolved"
    assert resolve_alert(source="budget", dedupe_key=alert.dedupe_key) is None


def test_an_environment_can_be_named(db: Any) -> None:
    from flags.models import Environment

    env = Environment.objects.create(key="prod", name="Production", is_production=True)
    alert = raise_alert(
        source="rollout", dedupe_key="r1", severity="critical", title="Rolled back", environment=env
    )
    assert alert.environment == env


def test_a_title_is_one_line(db: Any) -> None:
    assert budget_alert(title="  Budget\r\nexceeded \n now ").title == "Budget exceeded now"


@pytest.mark.django_db(transaction=True)
def test_two_transactions_raising_the_same_key_at_once_make_one_alert() -> None:
    from tests.services import postgres_url

    postgres_url()  # the partial unique index makes the second INSERT wait for the first
    channel_webhook("https://hooks.example.com/x")
    first, second = two_transactions(budget_alert, budget_alert)
    assert first.pk == second.pk
    assert Alert.objects.count() == 1 and Delivery.objects.count() == 1
