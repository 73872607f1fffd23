"""Screenshots of every main page at desktop width and the key pages at phone width (390 px),
where nothing may scroll sideways. Saved under test-output/screenshots/ (`<page>-1280.png`,
`<page>-390.png`)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.browser import login, screenshot
from tests.e2e.flows_support import assert_no_sideways_scroll, inbox_seed, phone_page
from tests.e2e.ui_support import DEMO_PASSWORD, site  # noqa: F401

pytestmark = pytest.mark.e2e

# The pages issue 11 asks for at both widths.
KEY_PAGES = [
    ("dashboard", "/"),
    ("flag-page", "/flags/llm-model/?env=staging"),
    ("compare-view", "/flags/rag-config/compare/?a=staging&b=production"),
    ("feedback-inbox", "/feedback/"),
]
PAGES = [
    *KEY_PAGES,
    ("flag-page-split", "/flags/rag-config/?env=development"),
    ("flag-settings", "/flags/rag-config/settings/"),
    ("flag-history", "/flags/llm-model/history/?scope=development"),
    ("segments", "/segments/"),
    ("segment-edit", "/segments/internal-users/"),
    ("audit-log", "/audit/"),
    ("keys", "/environments/"),
]


def _feedback_seed() -> None:
    """Votes and LLM calls in development, so the inbox has rows (an empty one cannot overflow)."""
    from flags.models import Environment

    inbox_seed(Environment.objects.get(key="development").pk)


def test_it_screenshots_main_pages_at_1280(page: Any, site: str) -> None:  # noqa: F811
    _feedback_seed()
    login(page, site, "admin", DEMO_PASSWORD)
    for name, path in PAGES:
        page.goto(site + path)
        assert page.locator("h1").first.is_visible(), name
        assert screenshot(page, f"{name}-1280").exists()


def _assert_every_tab_in_viewport(page: Any, name: str) -> None:
    """Each section tab lies wholly inside the viewport (none hidden in a sideways-scrolling
    bar), and the current one is among them."""
    width = page.viewport_size["width"]
    tabs = page.locator("nav.tabs a")
    assert tabs.count() >= 2, name
    for i in range(tabs.count()):
        tab = tabs.nth(i)
        box = tab.bounding_box()
        assert box is not None and tab.is_visible(), (name, tab.inner_text())
        assert box["x"] >= 0 and box["x"] + box["width"] <= width, (name, tab.inner_text(), box)
    current = page.locator('nav.tabs a[aria-current="page"]')
    assert current.count() == 1 and current.is_visible(), name


def test_the_key_pages_fit_390_px_without_sideways_scroll(browser: Any, site: str) -> None:  # noqa: F811
    _feedback_seed()
    with phone_page(browser, site, "admin", DEMO_PASSWORD) as page:
        for name, path in KEY_PAGES:
            page.goto(site + path)
            assert page.locator("h1").first.is_visible(), name
            assert screenshot(page, f"{name}-390").exists()
            assert_no_sideways_scroll(page)
            if name == "flag-page":
                _assert_every_tab_in_viewport(page, name)
        # The last tab, current: still on screen
        page.goto(site + "/flags/llm-model/")
        page.locator("nav.tabs a", has_text="Activity").click()
        page.wait_for_url(re.compile(r"/activity/"))
        _assert_every_tab_in_viewport(page, "flag-activity")
        assert_no_sideways_scroll(page)
        page.goto(site + "/costs/")
        _assert_every_tab_in_viewport(page, "costs")
