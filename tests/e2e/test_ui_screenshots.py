"""Screenshots of every main page at desktop width and the key pages at phone width."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser import login, screenshot
from tests.e2e.ui_support import DEMO_PASSWORD, site  # noqa: F401

pytestmark = pytest.mark.e2e

PAGES = [
    ("dashboard", "/"),
    ("flag-page", "/flags/rag-config/?env=development"),
    ("flag-settings", "/flags/rag-config/settings/"),
    ("flag-history", "/flags/llm-model/history/?scope=development"),
    ("segments", "/segments/"),
    ("segment-edit", "/segments/internal-users/"),
    ("audit-log", "/audit/"),
    ("keys", "/environments/"),
]


def test_it_screenshots_main_pages_at_1280(page: Any, site: str) -> None:  # noqa: F811
    login(page, site, "admin", DEMO_PASSWORD)
    for name, path in PAGES:
        page.goto(site + path)
        assert page.locator("h1").first.is_visible()
        assert screenshot(page, f"{name}-1280").exists()


def test_it_screenshots_at_390(browser: Any, site: str) -> None:  # noqa: F811
    context = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=1)
    page = context.new_page()
    try:
        login(page, site, "editor", DEMO_PASSWORD)
        for name, path in [("dashboard", "/"), ("flag-page", "/flags/llm-model/?env=staging")]:
            page.goto(site + path)
            screenshot(page, f"{name}-390")
            # Nothing overflows sideways at phone width.
            wide = page.evaluate(
                "[...document.querySelectorAll('body *')].filter(e => "
                "e.getBoundingClientRect().right > 391).map(e => e.tagName + '.' + e.className)"
                ".slice(0, 5)"
            )
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= 390, f"{name} is {width}px wide: {wide}"
        page.goto(site + "/login/")
    finally:
        context.close()
