"""The dashboard's header count follows the filters, and search finds flags by variant value,
showing which variant matched ("which flags can serve gpt-4o?") (issue 11)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser import login, screenshot
from tests.e2e.flows_support import assert_no_sideways_scroll, phone_page
from tests.e2e.ui_support import DEMO_PASSWORD, site  # noqa: F401

pytestmark = pytest.mark.e2e


def _more_flags() -> None:
    from flags.changes import Actor, flag_create

    actor = Actor(label="test")
    flag_create(
        key="summarizer",
        name="Summarizer settings",
        kind="json",
        variants=[
            {"key": "cheap", "value": {"model": "gpt-4o-mini", "max_tokens": 256}},
            {"key": "classic", "value": {"model": "gpt-4", "max_tokens": 512}},
        ],
        actor=actor,
    )
    flag_create(
        key="chat-model",
        name="Chat model",
        kind="string",
        variants=[{"key": "current", "value": "gpt-4o"}, {"key": "next", "value": "o3"}],
        actor=actor,
    )


def test_the_count_follows_the_filter_and_search_reads_variant_values(
    page: Any,
    site: str,  # noqa: F811
) -> None:
    from playwright.sync_api import expect

    from flags.models import Flag, Lifecycle

    _more_flags()
    total = Flag.objects.exclude(lifecycle=Lifecycle.ARCHIVED).count()
    login(page, site, "viewer", DEMO_PASSWORD)
    count = page.locator("#flag-count")
    expect(count).to_contain_text(f"{total} flags")

    page.fill("#id_q", "no-such-flag-anywhere")
    expect(page.get_by_text("No flags match.")).to_be_visible()
    expect(count).to_contain_text(f"0 of {total} flags match")

    page.fill("#id_q", "GPT-4o")  # case does not matter
    rows = page.locator("#flag-table tr.flag-row")
    expect(rows).to_have_count(2)
    expect(count).to_contain_text(f"2 of {total} flags match")
    chat = page.locator("#flag-chat-model")
    expect(chat.locator(".variant-match")).to_have_text(["variant current = gpt-4o"])
    summarizer = page.locator("#flag-summarizer .variant-match")
    expect(summarizer).to_have_count(1)
    expect(summarizer).to_contain_text("cheap")
    expect(summarizer).to_contain_text('"model":"gpt-4o-mini"')
    screenshot(page, "dashboard-search-variant-1280")

    page.reload()  # the search is in the address: the same answer after a reload
    expect(rows).to_have_count(2)
    expect(count).to_contain_text(f"2 of {total} flags match")

    page.fill("#id_q", "")
    expect(count).not_to_contain_text("match")
    expect(count).to_contain_text(f"{total} flags")


def test_the_variant_search_fits_a_phone(browser: Any, site: str) -> None:  # noqa: F811
    from playwright.sync_api import expect

    _more_flags()
    with phone_page(browser, site, "viewer", DEMO_PASSWORD) as page:
        page.goto(site + "/?q=gpt-4o")
        expect(page.locator("#flag-table tr.flag-row")).to_have_count(2)
        assert_no_sideways_scroll(page)
        screenshot(page, "dashboard-search-variant-390")
