"""The alert list, an alert's page, acknowledge and resolve, the navigation badge."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from alerts.models import Alert, Delivery, DeliveryAttempt
from flags.models import AuditEvent

from .builders import budget_alert, channel_webhook


@pytest.fixture
def alerts(db: Any) -> dict[str, Alert]:
    return {
        "budget": budget_alert(),
        "rollout": budget_alert(
            source="rollout",
            dedupe_key="plan:1:phase:2",
            severity="critical",
            title="Rollout of llm-model rolled back",
            link="/flags/llm-model/",
        ),
        "old": budget_alert(
            source="anomaly", dedupe_key="a1", severity="info", title="Old anomaly"
        ),
    }


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_it_lists_unresolved_alerts_with_links_to_what_fired(alerts: Any, viewer_user: Any) -> None:
    Alert.objects.filter(pk=alerts["old"].pk).update(status="resolved")
    html = _client(viewer_user).get("/alerts/").content.decode()
    assert "Budget &#x27;all&#x27; at 80 %" in html and "Rollout of llm-model rolled back" in html
    assert "Old anomaly" not in html
    assert 'href="/flags/llm-model/"' in html and 'href="/costs/budgets/1/"' in html


@pytest.mark.parametrize(
    ("query", "titles"),
    [
        ("?status=resolved", set()),
        ("?status=all&source=rollout", {"Rollout of llm-model rolled back"}),
        ("?status=all&severity=info", {"Old anomaly"}),
        ("?status=open&severity=warning", {"Budget 'all' at 80 %"}),
    ],
)
def test_it_filters_by_status_source_and_severity(
    alerts: Any, viewer_user: Any, query: str, titles: set[str]
) -> None:
    response = _client(viewer_user).get("/alerts/" + query)
    shown = {a.title for a in response.context["page_obj"].object_list}
    assert shown == titles


@pytest.mark.parametrize("query", ["?status=bogus", "?source=nope", "?severity=%00"])
def test_unknown_filter_values_are_a_400_naming_the_field(viewer_user: Any, query: str) -> None:
    response = _client(viewer_user).get("/alerts/" + query)
    assert response.status_code == 400
    field = query[1:].split("=")[0]
    assert field in response.content.decode()


def test_htmx_filtering_renders_only_the_results(alerts: Any, viewer_user: Any) -> None:
    response = _client(viewer_user).get("/alerts/?source=budget", HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert html.lstrip().startswith('<section class="card card-flush" id="alert-results">')
    assert "<nav" not in html.split("alert-results", 1)[0]


def test_the_navigation_badge_counts_open_alerts(alerts: Any, viewer_user: Any) -> None:
    Alert.objects.filter(pk=alerts["old"].pk).update(status="acknowledged")
    html = _client(viewer_user).get("/").content.decode()
    assert 'id="alerts-badge"' in html
    assert '>2<span class="sr-only"> open</span>' in html


def test_the_badge_is_empty_without_open_alerts(viewer_user: Any) -> None:
    html = _client(viewer_user).get("/alerts/badge/").content.decode()
    assert 'id="alerts-badge"' in html and "open</span>" not in html


def test_an_editor_acknowledges_with_a_comment(alerts: Any, editor_user: Any) -> None:
    alert = alerts["budget"]
    response = _client(editor_user).post(
        f"/alerts/{alert.pk}/acknowledge/", {"comment": "looking into it"}
    )
    assert response.status_code == 302
    alert.refresh_from_db()
    assert alert.status == "acknowledged" and alert.acknowledged_by == editor_user
    assert alert.acknowledged_comment == "looking into it" and alert.acknowledged_at
    event = AuditEvent.objects.get(action="alert.acknowledged")
    assert event.object_key == str(alert.pk) and event.comment == "looking into it"


def test_resolving_by_htmx_returns_the_row_and_the_new_badge(alerts: Any, admin_user: Any) -> None:
    alert = alerts["rollout"]
    response = _client(admin_user).post(f"/alerts/{alert.pk}/resolve/", HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert f'id="alert-{alert.pk}"' in html and 'data-status="resolved"' in html
    assert 'hx-swap-oob="true"' in html and ">2<span" in html
    alert.refresh_from_db()
    assert alert.status == "resolved" and alert.resolved_by == admin_user
    assert alert.resolved_comment == ""


def test_a_resolved_alert_cannot_be_acknowledged(alerts: Any, admin_user: Any) -> None:
    alert = alerts["budget"]
    client = _client(admin_user)
    client.post(f"/alerts/{alert.pk}/resolve/")
    # In the list (htmx), the row shows the alert as it is now
    response = client.post(f"/alerts/{alert.pk}/acknowledge/", HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and b'data-status="resolved"' in response.content
    # On its page, a message says why
    response = client.post(f"/alerts/{alert.pk}/acknowledge/", {"from": "detail"}, follow=True)
    assert b"already resolved" in response.content
    alert.refresh_from_db()
    assert alert.status == "resolved"


def test_resolving_twice_says_it_is_already_resolved(alerts: Any, admin_user: Any) -> None:
    alert = alerts["budget"]
    client = _client(admin_user)
    client.post(f"/alerts/{alert.pk}/resolve/", {"comment": "first"})
    response = client.post(
        f"/alerts/{alert.pk}/resolve/", {"comment": "second", "from": "detail"}, follow=True
    )
    assert b"already resolved" in response.content
    alert.refresh_from_db()
    assert alert.resolved_comment == "first"
    assert AuditEvent.objects.filter(action="alert.resolved").count() == 1


def test_viewers_cannot_triage(alerts: Any, viewer_user: Any) -> None:
    alert = alerts["budget"]
    client = _client(viewer_user)
    assert client.post(f"/alerts/{alert.pk}/acknowledge/").status_code == 403
    assert client.post(f"/alerts/{alert.pk}/resolve/").status_code == 403
    alert.refresh_from_db()
    assert alert.status == "open"
    assert b">Acknowledge<span" not in client.get("/alerts/").content


def test_triage_refuses_malformed_input(alerts: Any, admin_user: Any) -> None:
    client = _client(admin_user)
    alert = alerts["budget"]
    long = client.post(f"/alerts/{alert.pk}/resolve/", {"comment": "x" * 2001})
    assert long.status_code == 400 and long.content.startswith(b"comment: ")
    nul = client.post(f"/alerts/{alert.pk}/resolve/", {"comment": "a\x00b"})
    assert nul.status_code == 400 and b"comment" in nul.content
    assert client.post("/alerts/999999/resolve/").status_code == 404
    assert client.get(f"/alerts/{alert.pk}/resolve/").status_code == 405
    assert client.get("/alerts/abc/").status_code == 404


def test_anonymous_people_are_sent_to_log_in(alerts: Any) -> None:
    response = Client().get("/alerts/")
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_the_alert_page_shows_every_delivery_attempt(alerts: Any, viewer_user: Any) -> None:
    from django.utils import timezone

    channel_webhook("https://hooks.example.com/a")
    alert = budget_alert(dedupe_key="with-deliveries")
    delivery = Delivery.objects.get(alert=alert)
    DeliveryAttempt.objects.create(
        delivery=delivery,
        number=1,
        started_at=timezone.now(),
        duration_ms=12,
        ok=False,
        status_code=502,
        error="HTTP 502",
        response_excerpt="bad gateway",
    )
    html = _client(viewer_user).get(f"/alerts/{alert.pk}/").content.decode()
    assert "hooks" in html and "HTTP 502" in html and "12 ms" in html and "bad gateway" in html


def test_a_link_that_is_not_http_or_a_path_is_not_rendered(db: Any, viewer_user: Any) -> None:
    alert = budget_alert(link="javascript:alert(1)")
    html = _client(viewer_user).get(f"/alerts/{alert.pk}/").content.decode()
    assert "javascript:" not in html
