"""The feedback inbox: login, filters, linked LLM call, triage permissions, chart, CSV."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from feedback.ingest import events_ingest, feedback_ingest
from feedback.models import Feedback
from feedback.prices import model_prices_load_demo

from .conftest import Keys, feedback, keys_create, llm_call

pytestmark = pytest.mark.django_db
INBOX = "/feedback/"


def _feedback(keys: Keys, event_id: str, **fields: Any) -> Feedback:
    feedback_ingest(environment_id=keys.environment.pk, payload=feedback(event_id, **fields))
    return Feedback.objects.get(event_id=event_id, environment=keys.environment)


@pytest.fixture
def inbox_data(keys: Keys) -> dict[str, Feedback]:
    """Three calls and four pieces of feedback linked to them in different ways."""
    model_prices_load_demo()
    now = timezone.now()
    events_ingest(
        environment_id=keys.environment.pk,
        events=[
            llm_call(
                "call-a",
                request_id="req-a",
                conversation_id="conv-1",
                model="gpt-4",
                prompt_tokens=1000,
                completion_tokens=500,
                latency_ms=1234,
                flags={"llm-model": "gpt-4"},
                timestamp=(now - timedelta(hours=3)).isoformat(),
            ),
            llm_call(
                "call-b",
                request_id="req-b",
                conversation_id="conv-2",
                model="gpt-4-turbo",
                prompt_tokens=2000,
                completion_tokens=1000,
                latency_ms=420,
                flags={"llm-model": "gpt-4-turbo"},
                timestamp=(now - timedelta(hours=2)).isoformat(),
            ),
            llm_call(
                "call-c",
                request_id="req-c",
                conversation_id="conv-2",
                model="gpt-4-turbo",
                prompt_tokens=10,
                completion_tokens=10,
                timestamp=(now - timedelta(hours=1)).isoformat(),
            ),
        ],
    )
    return {
        "by_request": _feedback(
            keys,
            "fb-a",
            request_id="req-a",
            conversation_id="conv-1",
            category="hallucination",
            comment="invented a citation",
            rating=1,
        ),
        # No request id: the conversation's latest call before the feedback (call-b).
        "by_conversation": _feedback(
            keys,
            "fb-b",
            request_id="",
            conversation_id="conv-2",
            category="irrelevant",
            timestamp=(now - timedelta(minutes=90)).isoformat(),
        ),
        "unlinked": _feedback(keys, "fb-c", request_id="", conversation_id="", type="thumbs_up"),
        "old": _feedback(
            keys,
            "fb-d",
            request_id="req-c",
            category="formatting",
            timestamp=(now - timedelta(days=5)).isoformat(),
        ),
    }


def _ids(response: Any) -> set[str]:
    return {row.feedback.event_id for row in response.context["rows"]}


def test_login_is_required(client: Client) -> None:
    for url in (INBOX, "/feedback/export.csv", "/costs/prices/", "/feedback/demo/"):
        response = client.get(url)
        assert response.status_code == 302 and "/login/" in response["Location"], url


def test_it_lists_feedback_with_the_linked_llm_call(
    client: Client, viewer_user: Any, inbox_data: dict[str, Feedback]
) -> None:
    client.force_login(viewer_user)
    response = client.get(INBOX)
    assert response.status_code == 200
    rows = {row.feedback.event_id: row for row in response.context["rows"]}
    assert rows["fb-a"].call.event_id == "call-a"
    assert rows["fb-b"].call.event_id == "call-b"
    assert rows["fb-c"].call is None
    assert rows["fb-d"].call.event_id == "call-c"
    html = response.content.decode()
    # Model, tokens, latency and cost ($30/M * 1000 + $60/M * 500 = $0.06) of call-a.
    assert "gpt-4" in html and "1000 + 500" in html and "1234 ms" in html
    assert "$0.060000" in html
    assert "invented a citation" in html
    # A viewer sees no triage controls.
    assert "Mark resolved" not in html


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"type": "thumbs_up"}, {"fb-c"}),
        ({"rating": "1"}, {"fb-a"}),
        ({"category": "irrelevant"}, {"fb-b"}),
        ({"category": "uncategorized"}, {"fb-c"}),
        ({"model": "gpt-4-turbo"}, {"fb-b", "fb-d"}),
        ({"flag": "llm-model"}, {"fb-a", "fb-b"}),
        ({"flag": "llm-model", "variant": "gpt-4-turbo"}, {"fb-b"}),
        ({"has_comment": "yes"}, {"fb-a"}),
        ({"has_comment": "no"}, {"fb-b", "fb-c", "fb-d"}),
        ({"environment": "development"}, {"fb-a", "fb-b", "fb-c", "fb-d"}),
        ({"status": "resolved"}, set()),
    ],
)
def test_filters(
    client: Client, viewer_user: Any, inbox_data: dict, query: dict, expected: set[str]
) -> None:
    client.force_login(viewer_user)
    assert _ids(client.get(INBOX, query)) == expected


def test_the_date_range_filter(client: Client, viewer_user: Any, inbox_data: dict) -> None:
    client.force_login(viewer_user)
    today = timezone.now().date()
    recent = client.get(INBOX, {"date_from": str(today - timedelta(days=1))})
    assert "fb-d" not in _ids(recent) and "fb-a" in _ids(recent)
    old = client.get(INBOX, {"date_to": str(today - timedelta(days=4))})
    assert _ids(old) == {"fb-d"}


def test_other_environments_filter(client: Client, viewer_user: Any, inbox_data: dict) -> None:
    other = keys_create("staging")
    _feedback(other, "fb-staging")
    client.force_login(viewer_user)
    assert _ids(client.get(INBOX, {"environment": "staging"})) == {"fb-staging"}


def test_malformed_filters_are_ignored_not_fatal(
    client: Client, viewer_user: Any, inbox_data: dict
) -> None:
    client.force_login(viewer_user)
    response = client.get(
        INBOX, {"rating": "nine", "date_from": "last tuesday", "category": "<script>", "page": "x"}
    )
    assert response.status_code == 200
    assert len(_ids(response)) == 4


def test_counts_by_category_for_the_period(
    client: Client, viewer_user: Any, inbox_data: dict
) -> None:
    client.force_login(viewer_user)
    today = timezone.now().date()
    response = client.get(
        INBOX, {"date_from": str(today - timedelta(days=1)), "category": "irrelevant"}
    )
    counts = {bar.category: bar.count for bar in response.context["bars"]}
    # The category filter does not narrow the chart; the period does (fb-d is 5 days old).
    # The chart is about thumbs down: fb-c, a thumbs up, is no "uncategorized" reason...
    assert counts == {
        "hallucination": 1,
        "irrelevant": 1,
        "formatting": 0,
        "safety": 0,
        "other": 0,
        "uncategorized": 0,
    }
    # ...it is counted in the votes chart instead.
    votes = {bar.category: bar.count for bar in response.context["vote_bars"]}
    assert votes == {"thumbs_up": 1, "thumbs_down": 2}
    html = response.content.decode()
    assert "<svg" in html and 'data-category="hallucination">1<' in html


def test_htmx_filtering_renders_only_the_results(
    client: Client, viewer_user: Any, inbox_data: dict
) -> None:
    client.force_login(viewer_user)
    response = client.get(INBOX, {"type": "thumbs_up"}, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert html.lstrip().startswith("{#") is False
    assert 'id="feedback-results"' in html and "<h1>Feedback</h1>" not in html


def test_an_editor_sets_the_category_with_htmx(
    client: Client, editor_user: Any, inbox_data: dict
) -> None:
    item = inbox_data["by_request"]
    client.force_login(editor_user)
    response = client.post(
        f"/feedback/{item.pk}/triage", {"category": "safety"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert html.strip().startswith(f'<tr id="feedback-{item.pk}"')
    assert "user said Hallucination" in html
    item.refresh_from_db()
    assert (item.category, item.triage_category, item.effective_category) == (
        "hallucination",
        "safety",
        "safety",
    )
    # Counted under the corrected category now.
    assert _ids(client.get(INBOX, {"category": "safety"})) == {"fb-a"}


def test_an_editor_resolves_and_reopens(client: Client, editor_user: Any, inbox_data: dict) -> None:
    item = inbox_data["by_conversation"]
    client.force_login(editor_user)
    response = client.post(
        f"/feedback/{item.pk}/triage", {"resolved": "true", "next": "/feedback/?type=thumbs_down"}
    )
    assert response.status_code == 302 and response["Location"] == "/feedback/?type=thumbs_down"
    item.refresh_from_db()
    assert item.resolved_at is not None and item.resolved_by == editor_user
    assert _ids(client.get(INBOX, {"status": "resolved"})) == {"fb-b"}
    client.post(f"/feedback/{item.pk}/triage", {"resolved": "false"}, HTTP_HX_REQUEST="true")
    item.refresh_from_db()
    assert item.resolved_at is None and item.resolved_by is None


def test_triage_does_not_redirect_elsewhere(
    client: Client, editor_user: Any, inbox_data: dict
) -> None:
    item = inbox_data["unlinked"]
    client.force_login(editor_user)
    response = client.post(
        f"/feedback/{item.pk}/triage", {"resolved": "true", "next": "https://evil.example/"}
    )
    assert response["Location"] == "/feedback/"


def test_a_viewer_cannot_triage(client: Client, viewer_user: Any, inbox_data: dict) -> None:
    item = inbox_data["by_request"]
    client.force_login(viewer_user)
    for data in ({"category": "safety"}, {"resolved": "true"}):
        response = client.post(f"/feedback/{item.pk}/triage", data, HTTP_HX_REQUEST="true")
        assert response.status_code == 403
    item.refresh_from_db()
    assert item.triage_category == "" and item.resolved_at is None


@pytest.mark.parametrize("data", [{"category": "rude"}, {"resolved": "maybe"}])
def test_malformed_triage_is_400(
    client: Client, editor_user: Any, inbox_data: dict, data: dict
) -> None:
    item = inbox_data["by_request"]
    client.force_login(editor_user)
    assert client.post(f"/feedback/{item.pk}/triage", data).status_code == 400


def test_triage_needs_post_and_an_existing_row(
    client: Client, editor_user: Any, inbox_data: dict
) -> None:
    client.force_login(editor_user)
    assert client.get(f"/feedback/{inbox_data['by_request'].pk}/triage").status_code == 405
    assert client.post("/feedback/999999/triage", {"resolved": "true"}).status_code == 404


def test_csv_export_follows_the_filters(client: Client, viewer_user: Any, inbox_data: dict) -> None:
    Feedback.objects.filter(event_id="fb-a").update(comment='=HYPERLINK("http://evil")')
    client.force_login(viewer_user)
    response = client.get("/feedback/export.csv", {"type": "thumbs_down"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    assert response.streaming  # the export is streamed, not built in memory
    content = response.getvalue().decode()
    rows = list(csv.DictReader(io.StringIO(content)))
    assert {r["id"] for r in rows} == {"fb-a", "fb-b", "fb-d"}
    by_id = {r["id"]: r for r in rows}
    assert by_id["fb-a"]["model"] == "gpt-4"
    assert Decimal(by_id["fb-a"]["cost_usd"]) == Decimal("0.06")
    assert by_id["fb-a"]["prompt_tokens"] == "1000"
    assert by_id["fb-b"]["model"] == "gpt-4-turbo"
    # Formulas stay text in spreadsheets.
    assert by_id["fb-a"]["comment"].startswith("'=")


@pytest.mark.parametrize(
    ("comment", "exported"),
    [
        ("fine;=1+1", "fine;=1+1"),
        ("fine,=1+1", "fine,=1+1"),
        ("=1+1", "'=1+1"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
    ],
)
def test_csv_export_quotes_every_field_and_neutralises_formulas(
    client: Client, viewer_user: Any, inbox_data: dict, comment: str, exported: str
) -> None:
    # Given a comment that a spreadsheet in a `;` or `,` locale could read as a formula
    Feedback.objects.filter(event_id="fb-a").update(comment=comment)
    client.force_login(viewer_user)
    # When the inbox is exported
    response = client.get("/feedback/export.csv", {"type": "thumbs_down"})
    assert response.streaming  # the export is streamed, not built in memory
    content = response.getvalue().decode()
    # Then every field of every line is quoted, whatever the delimiter a reader splits on
    for line in csv.reader(io.StringIO(content)):
        assert line
    raw_lines = [line for line in content.split("\r\n") if line and "fb-" in line]
    assert raw_lines
    quoted = re.compile(r'"(?:[^"]|"")*"(?:,"(?:[^"]|"")*")*')
    for raw in raw_lines:
        assert quoted.fullmatch(raw), raw
    # and the comment comes back intact apart from the leading quote that keeps it text.
    rows = {r["id"]: r for r in csv.DictReader(io.StringIO(content))}
    assert rows["fb-a"]["comment"] == exported
    assert f'"{exported}"' in content


@pytest.mark.django_db
def test_the_main_navigation_links_to_the_inbox(client: Any, viewer_user: Any) -> None:
    client.force_login(viewer_user)
    page = client.get("/").content.decode()
    assert 'href="/feedback/"' in page
    inbox = client.get("/feedback/").content.decode()
    assert 'href="/feedback/" aria-current="page"' in inbox
