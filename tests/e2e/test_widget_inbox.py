"""From the widget to the inbox in a real browser: feedback sent through the API shows up in the
inbox with its LLM call, and an editor triages it with htmx."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from feedback.ingest import events_ingest, feedback_ingest
from feedback.models import Feedback
from feedback.prices import model_prices_load_demo
from tests.browser import login, screenshot
from tests.feedback.conftest import Keys, keys_create, llm_call, process_state_reset

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def keys(transactional_db: Any) -> Iterator[Keys]:
    process_state_reset()
    yield keys_create()
    process_state_reset()


def test_an_editor_triages_feedback_in_the_inbox(
    page: Any, live_server: Any, editor_user: Any, keys: Keys
) -> None:
    # Given a priced LLM call and a thumbs down about it...
    model_prices_load_demo()
    env_id = keys.environment.pk
    events_ingest(
        environment_id=env_id,
        events=[llm_call("call-1", request_id="req-1", flags={"llm-model": "gpt-4"})],
    )
    feedback_ingest(
        environment_id=env_id,
        payload={
            "id": "fb-1",
            "type": "thumbs_down",
            "request_id": "req-1",
            "category": "formatting",
            "comment": "The table came out as one line.",
        },
    )
    # ...when an editor opens the inbox and corrects the category,
    login(page, live_server.url, editor_user.username, f"pw-{editor_user.username}")
    page.goto(f"{live_server.url}/feedback/")
    chart = page.locator("#fb-chart")
    assert chart.locator('text[data-category="formatting"]').text_content().strip() == "1"
    assert chart.locator('text[data-category="hallucination"]').text_content().strip() == "0"
    row = page.locator("tr", has_text="The table came out as one line.")
    assert "gpt-4" in row.inner_text() and "$0.060000" in row.inner_text()
    row.get_by_label("Failure category for feedback fb-1").select_option("hallucination")
    row.get_by_role("button", name="Set").click()
    # then htmx swaps the row in place and the database has the triaged category.
    page.get_by_text("user said Formatting").wait_for()
    # and the category chart is redrawn for the same filters, without a reload.
    # (expect() polls without eval, which the page's Content-Security-Policy refuses.)
    from playwright.sync_api import expect

    expect(chart.locator('text[data-category="hallucination"]')).to_have_text("1")
    assert chart.locator('text[data-category="formatting"]').text_content().strip() == "0"
    page.get_by_role("button", name="Mark resolved: feedback fb-1").click()
    page.get_by_role("button", name="Reopen: feedback fb-1").wait_for()
    item = Feedback.objects.get(event_id="fb-1")
    assert (item.category, item.triage_category) == ("formatting", "hallucination")
    assert item.resolved_by_id == editor_user.pk
    screenshot(page, "feedback-inbox-triaged")
