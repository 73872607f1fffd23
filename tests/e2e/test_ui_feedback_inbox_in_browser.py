"""The feedback inbox fits at 1280 and 390 px, charts thumbs-down reasons and votes separately,
and a vote changed in the widget counts once (the latest per response and user) (issue 11)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from feedback.models import Feedback
from tests.browser import login, screenshot
from tests.e2e.flows_support import (
    PHONE,
    assert_inside_viewport,
    assert_no_sideways_scroll,
    inbox_seed,
)
from tests.feedback.conftest import Keys, keys_create, process_state_reset

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def keys(transactional_db: Any) -> Iterator[Keys]:
    process_state_reset()
    yield keys_create()
    process_state_reset()


def _chart(page: Any, attribute: str, value: str) -> str:
    return str(page.locator(f"#fb-chart text[data-{attribute}='{value}']").text_content()).strip()


def test_the_inbox_fits_and_charts_reasons_and_votes_apart(
    page: Any, live_server: Any, editor_user: Any, keys: Keys
) -> None:
    from playwright.sync_api import expect

    inbox_seed(keys.environment.pk)
    login(page, live_server.url, editor_user.username, f"pw-{editor_user.username}")
    page.goto(f"{live_server.url}/feedback/")
    # Thumbs up has no reason: the reasons chart counts only the two thumbs down...
    assert _chart(page, "category", "hallucination") == "1"
    assert _chart(page, "category", "uncategorized") == "1"
    expect(page.locator("#fb-reasons")).to_contain_text("No reason given")
    # ...and the votes are a chart of their own.
    assert (_chart(page, "vote", "thumbs_up"), _chart(page, "vote", "thumbs_down")) == ("1", "2")

    # At 1280 px every row's controls are whole: nothing cut off, the select is usable.
    for i in range(3):
        row = page.locator(f"tr:has(button[aria-label='Mark resolved: feedback fb-{i}'])")
        assert_inside_viewport(row.get_by_role("button", name="Mark resolved"))
        assert_inside_viewport(row.get_by_role("button", name="Set"))
        select = row.get_by_label(f"Failure category for feedback fb-{i}")
        assert select.bounding_box()["width"] >= 110, select.bounding_box()
    assert_no_sideways_scroll(page)
    table = page.locator("table.fb-table").bounding_box()
    card = page.locator(".fb-table-card").bounding_box()
    assert table["x"] + table["width"] <= card["x"] + card["width"] + 1
    screenshot(page, "feedback-inbox-1280")

    page.set_viewport_size(PHONE)
    page.reload()
    assert_no_sideways_scroll(page)
    row = page.locator("tr:has(button[aria-label='Mark resolved: feedback fb-0'])")
    assert_inside_viewport(row.get_by_role("button", name="Mark resolved"))
    assert row.get_by_label("Failure category for feedback fb-0").bounding_box()["width"] >= 110
    screenshot(page, "feedback-inbox-390")


def test_a_changed_vote_counts_once(
    page: Any, live_server: Any, editor_user: Any, keys: Keys
) -> None:
    from playwright.sync_api import expect

    login(page, live_server.url, editor_user.username, f"pw-{editor_user.username}")
    page.goto(f"{live_server.url}/feedback/demo/?key={keys.client}")
    answer = page.get_by_test_id("answer-1")
    # Given a thumbs up on an answer...
    answer.get_by_role("button", name="Helpful", exact=True).click()
    answer.get_by_text("Thanks for your feedback!").wait_for()
    # ...when the same person changes their mind to thumbs down,
    answer.get_by_role("button", name="Not helpful").click()
    answer.get_by_label("Not relevant").check()
    answer.get_by_role("button", name="Send feedback").click()
    # (the widget says thanks once the server has stored the vote)
    expect(answer.get_by_text("Thanks for your feedback!")).to_be_visible()
    expect(answer.get_by_role("button", name="Not helpful")).to_have_attribute(
        "aria-pressed", "true"
    )

    # then both votes are kept, and only the latest counts.
    votes = Feedback.objects.filter(request_id="demo-request-1")
    assert sorted(votes.values_list("type", flat=True)) == ["thumbs_down", "thumbs_up"]
    current = Feedback.objects.current().filter(request_id="demo-request-1")
    assert list(current.values_list("type", flat=True)) == ["thumbs_down"]

    page.goto(f"{live_server.url}/feedback/")
    expect(page.locator("#fb-count")).to_have_text("1 matching")
    assert (_chart(page, "vote", "thumbs_up"), _chart(page, "vote", "thumbs_down")) == ("0", "1")
    assert _chart(page, "category", "irrelevant") == "1"
    expect(page.locator("table.fb-table tbody tr")).to_have_count(1)

    # The earlier vote is history: shown on request, marked as replaced, still not counted.
    page.select_option("#id_votes", "all")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("table.fb-table tbody tr")).to_have_count(2)
    expect(page.locator("tr.fb-replaced")).to_contain_text("thumbs up")
    assert _chart(page, "vote", "thumbs_up") == "0"
    screenshot(page, "feedback-inbox-replaced-votes-1280")
