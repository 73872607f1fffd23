"""Alerts in the management API: list with filters and pages, one alert with its deliveries,
acknowledge and resolve through alerts.triage (roles, audit, illegal steps), malformed input."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from alerts.models import Alert
from flags.api.tokens import personal_token_create
from flags.models import AuditEvent, Environment

from .builders import budget_alert, channel_webhook


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _post(client: Client, url: str, body: Any = None, **headers: Any) -> Any:
    data = body if isinstance(body, str | bytes) else json.dumps(body or {})
    return client.post(url, data, content_type="application/json", **headers)


def _fields(response: Any) -> dict[str, list[str]]:
    return response.json()["error"].get("fields", {})


@pytest.fixture
def alerts(db: Any) -> dict[str, Alert]:
    prod = Environment.objects.create(key="prod", name="Production", is_production=True)
    return {
        "budget": budget_alert(),
        "rollout": budget_alert(
            source="rollout",
            dedupe_key="plan:1:phase:2",
            severity="critical",
            title="Rollout of llm-model rolled back",
            environment=prod,
        ),
        "anomaly": budget_alert(source="anomaly", dedupe_key="a1", severity="info", title="Odd"),
    }


def test_it_lists_active_alerts_newest_first(alerts: Any, viewer_user: Any) -> None:
    Alert.objects.filter(pk=alerts["anomaly"].pk).update(status="resolved")
    body = _client(viewer_user).get("/api/v1/alerts").json()
    assert body["count"] == 2 and body["next"] is None
    assert [a["id"] for a in body["results"]] == [alerts["rollout"].pk, alerts["budget"].pk]
    first = body["results"][0]
    assert first["environment"] == "prod" and first["severity"] == "critical"
    assert first["status"] == "open" and first["acknowledged_by"] is None


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("status=all", {"budget", "rollout", "anomaly"}),
        ("status=resolved", {"anomaly"}),
        ("source=rollout", {"rollout"}),
        ("severity=info&status=all", {"anomaly"}),
        ("environment=prod", {"rollout"}),
    ],
)
def test_it_filters(alerts: Any, viewer_user: Any, query: str, expected: set[str]) -> None:
    Alert.objects.filter(pk=alerts["anomaly"].pk).update(status="resolved")
    ids = {a["id"] for a in _client(viewer_user).get(f"/api/v1/alerts?{query}").json()["results"]}
    assert ids == {alerts[name].pk for name in expected}


@pytest.mark.parametrize(
    "query",
    [
        "status=closed",
        "source=nope",
        "severity=high",
        "environment=nope",
        "environment=a%00b",
        "source=a%00b",
        "page=0",
        "page=x",
        "page_size=201",
    ],
)
def test_unknown_filter_values_are_a_400_naming_the_parameter(
    alerts: Any, viewer_user: Any, query: str
) -> None:
    response = _client(viewer_user).get(f"/api/v1/alerts?{query}")
    assert response.status_code == 400
    assert list(_fields(response)) == [query.split("=")[0]]


def test_it_pages(alerts: Any, viewer_user: Any) -> None:
    client = _client(viewer_user)
    first = client.get("/api/v1/alerts?status=all&page_size=2").json()
    assert first["count"] == 3 and len(first["results"]) == 2
    second = client.get(first["next"]).json()
    assert [a["id"] for a in second["results"]] == [alerts["budget"].pk]
    assert second["next"] is None
    assert client.get("/api/v1/alerts?page=9").status_code == 404


def test_one_alert_has_its_deliveries_but_never_a_channel_secret(
    alerts: Any, viewer_user: Any
) -> None:
    channel = channel_webhook("https://hooks.example.com/T0/B0/s3cr3t-path")
    alert = budget_alert(dedupe_key="with-delivery")
    response = _client(viewer_user).get(f"/api/v1/alerts/{alert.pk}")
    assert response.status_code == 200
    [delivery] = response.json()["deliveries"]
    assert delivery["channel"] == "hooks" and delivery["channel_kind"] == "webhook"
    assert delivery["status"] == "pending" and delivery["attempts"] == 0
    assert delivery["last_error"] == "" and delivery["webhook_id"].startswith("msg_")
    text = response.content.decode()
    assert channel.secret not in text and "s3cr3t-path" not in text


@pytest.mark.parametrize(
    "bad", ["abc", "0", "-1", "1.5", "%C2%B2", str(2**40), str(2**63), "9" * 30]
)
def test_a_bad_or_unknown_id_is_a_json_404(alerts: Any, admin_user: Any, bad: str) -> None:
    client = _client(admin_user)
    for response in (
        client.get(f"/api/v1/alerts/{bad}"),
        _post(client, f"/api/v1/alerts/{bad}/resolve"),
    ):
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"
    assert client.get("/api/v1/alerts/999999").status_code == 404


def test_an_editor_acknowledges_with_a_comment_through_triage(
    alerts: Any, editor_user: Any
) -> None:
    alert = alerts["budget"]
    response = _post(
        _client(editor_user), f"/api/v1/alerts/{alert.pk}/acknowledge", {"comment": " on it "}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "acknowledged" and body["acknowledged_by"] == "eddie"
    assert body["acknowledged_comment"] == "on it" and body["deliveries"] == []
    event = AuditEvent.objects.get(action="alert.acknowledged")
    assert event.object_key == str(alert.pk) and event.comment == "on it"
    # Acknowledging again changes nothing and writes no second audit event
    again = _post(_client(editor_user), f"/api/v1/alerts/{alert.pk}/acknowledge")
    assert again.status_code == 200 and again.json()["acknowledged_comment"] == "on it"
    assert AuditEvent.objects.filter(action="alert.acknowledged").count() == 1


def test_a_personal_token_resolves_and_the_audit_names_it(alerts: Any, admin_user: Any) -> None:
    _, raw = personal_token_create(user=admin_user, name="oncall-bot")
    alert = alerts["rollout"]
    response = _post(
        Client(),
        f"/api/v1/alerts/{alert.pk}/resolve",
        {"comment": "rolled forward"},
        HTTP_AUTHORIZATION=f"Token {raw}",
    )
    assert response.status_code == 200 and response.json()["status"] == "resolved"
    alert.refresh_from_db()
    assert alert.resolved_by == admin_user and alert.resolved_comment == "rolled forward"
    event = AuditEvent.objects.get(action="alert.resolved")
    assert event.actor == admin_user and event.actor_label.startswith("personal token fs_pat_")


def test_illegal_transitions_are_a_400_on_status(alerts: Any, admin_user: Any) -> None:
    client = _client(admin_user)
    alert = alerts["budget"]
    assert _post(client, f"/api/v1/alerts/{alert.pk}/resolve").status_code == 200
    for step in ("resolve", "acknowledge"):
        response = _post(client, f"/api/v1/alerts/{alert.pk}/{step}", {"comment": "again"})
        assert response.status_code == 400
        assert _fields(response) == {"status": ["This alert is already resolved."]}
    assert AuditEvent.objects.filter(action__startswith="alert.").count() == 1
    alert.refresh_from_db()
    assert alert.resolved_comment == "" and alert.acknowledged_at is None


def test_viewers_get_403_before_the_body_is_read(alerts: Any, viewer_user: Any) -> None:
    client = _client(viewer_user)
    alert = alerts["budget"]
    for step in ("acknowledge", "resolve"):
        response = _post(client, f"/api/v1/alerts/{alert.pk}/{step}", "{not json")
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "permission_denied"
    alert.refresh_from_db()
    assert alert.status == "open"


def test_anonymous_callers_get_401_or_403(alerts: Any) -> None:
    assert Client().get("/api/v1/alerts").status_code in (401, 403)
    bad_token = {"Authorization": "Token fs_pat_nope"}
    assert Client().get("/api/v1/alerts", headers=bad_token).status_code == 401


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ("{not json", "body"),
        (b"\xff\xfe", "body"),
        ({"comment": 5}, "comment"),
        ({"comment": None}, "comment"),
        ({"comment": ["a"]}, "comment"),
        ({"comment": "x" * 2001}, "comment"),
        ({"comment": "a\x00b"}, "comment"),
        ('{"comment": "\\ud800"}', "comment"),
        ("[]", "non_field_errors"),
    ],
)
def test_malformed_triage_bodies_are_a_400_naming_the_field(
    alerts: Any, admin_user: Any, body: Any, field: str
) -> None:
    alert = alerts["budget"]
    response = _post(_client(admin_user), f"/api/v1/alerts/{alert.pk}/acknowledge", body)
    assert response.status_code == 400, response.content
    assert field in _fields(response)
    alert.refresh_from_db()
    assert alert.status == "open"


def test_a_comment_at_the_limit_is_kept_whole(alerts: Any, admin_user: Any) -> None:
    alert = alerts["budget"]
    comment = "y" * 2000
    response = _post(
        _client(admin_user), f"/api/v1/alerts/{alert.pk}/resolve", {"comment": comment}
    )
    assert response.status_code == 200 and response.json()["resolved_comment"] == comment


def test_the_schema_lists_the_alert_endpoints(client: Any) -> None:
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    paths = schema["paths"]
    assert set(paths["/api/v1/alerts"]) == {"get"}
    assert set(paths["/api/v1/alerts/{id}"]) == {"get"}
    for step in ("acknowledge", "resolve"):
        operation = paths[f"/api/v1/alerts/{{id}}/{step}"]["post"]
        assert operation["operationId"] == f"alerts_{step}"
        assert {"PersonalToken"} <= {k for s in operation["security"] for k in s}
    names = {p["name"] for p in paths["/api/v1/alerts"]["get"]["parameters"]}
    assert names == {"status", "source", "severity", "environment", "page", "page_size"}


def test_answers_with_data_conform_to_the_schema(
    live_server: Any, transactional_db: Any, admin_user: Any
) -> None:
    """The schemathesis run (tests/flags/test_api_schema.py) sees no alerts in the demo data:
    check real answers (an alert with a delivery, an environment, a triage, a refusal) here."""
    import schemathesis
    from schemathesis.specs.openapi.checks import response_schema_conformance

    channel_webhook("https://hooks.example.com/a")
    prod = Environment.objects.create(key="prod", name="Production", is_production=True)
    budget_alert(severity="info", environment=prod)
    alert = budget_alert(severity="critical")
    _, raw = personal_token_create(user=admin_user, name="schema")
    headers = {"Authorization": f"Token {raw}"}
    schema = schemathesis.from_uri(
        f"{live_server.url}/api/schema/?format=json", base_url=live_server.url
    )
    calls = [
        ("/api/v1/alerts", "GET", {}, {"status": "all", "page_size": 1}),
        ("/api/v1/alerts/{id}", "GET", {"id": alert.pk}, {}),
        ("/api/v1/alerts/{id}/acknowledge", "POST", {"id": alert.pk}, {}),
        ("/api/v1/alerts/{id}/resolve", "POST", {"id": alert.pk}, {}),
        ("/api/v1/alerts/{id}/resolve", "POST", {"id": alert.pk}, {}),  # the 400
    ]
    statuses = []
    for path, method, path_parameters, query in calls:
        operation = schema[path][method]
        if method == "POST":
            case = operation.make_case(
                path_parameters=path_parameters,
                query=query,
                body={"comment": "checked"},
                media_type="application/json",
            )
        else:
            case = operation.make_case(path_parameters=path_parameters, query=query)
        response = case.call(headers=headers, timeout=30)
        case.validate_response(response, checks=(response_schema_conformance,))
        statuses.append(response.status_code)
    assert statuses == [200, 200, 200, 200, 400]
