"""Screenshots of every main page at desktop width and the key pages at phone width (390 px),
where nothing may scroll sideways. Saved under test-output/screenshots/ (`<page>-1280.png`,
`<page>-390.png`)."""

from __future__ import annotations

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


def test_the_key_pages_fit_390_px_without_sideways_scroll(browser: Any, site: str) -> None:  # noqa: F811
    _feedback_seed()
    with phone_page(browser, site, "admin", DEMO_PASSWORD) as page:
        for name, path in KEY_PAGES:
            page.goto(site + path)
            assert page.locator("h1").first.is_visible(), name
            assert screenshot(page, f"{name}-390").exists()
            assert_no_sideways_scroll(page)
