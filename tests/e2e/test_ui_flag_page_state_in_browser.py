"""Toggling from the flag page's header updates every part of the page that shows the state,
without a reload (issue 11)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser import login, screenshot
from tests.e2e.flows_support import assert_no_sideways_scroll, phone_page
from tests.e2e.ui_support import DEMO_PASSWORD, site  # noqa: F401

pytestmark = pytest.mark.e2e


def test_the_state_line_follows_the_header_switch(page: Any, site: str) -> None:  # noqa: F811
    from playwright.sync_api import expect

    from flags.models import FlagConfig

    login(page, site, "editor", DEMO_PASSWORD)
    page.goto(site + "/flags/new-rag-pipeline/?env=development")
    page.evaluate("window.__noReload = true")
    switch = page.locator("#switch-new-rag-pipeline-development")
    status = page.locator("#targeting-status-development")
    version = FlagConfig.objects.get(
        flag__key="new-rag-pipeline", environment__key="development"
    ).version
    expect(switch).to_have_attribute("aria-checked", "true")
    expect(status).to_have_attribute("data-state", "on")

    switch.click()
    expect(switch).to_have_attribute("aria-checked", "false")
    expect(status).to_contain_text("Off — everyone gets off")
    expect(status).to_contain_text(f"version {version + 1}")
    assert page.evaluate("window.__noReload") is True  # swapped in place, no reload
    screenshot(page, "flag-page-toggled-off-1280")

    switch.click()
    expect(status).to_have_attribute("data-state", "on")
    expect(status).not_to_contain_text("Off")
    expect(status).to_contain_text(f"version {version + 2}")

    # Toggling another environment leaves this environment's state line alone. (Staging's own
    # state depends on what earlier tests in this live server's database did: flip it, whatever
    # it was.)
    staging = page.locator("#switch-new-rag-pipeline-staging")
    flipped = "false" if staging.get_attribute("aria-checked") == "true" else "true"
    staging.click()
    expect(staging).to_have_attribute("aria-checked", flipped)
    expect(status).to_have_attribute("data-state", "on")
    assert page.evaluate("window.__noReload") is True


def test_the_flag_page_fits_a_phone_after_a_toggle(browser: Any, site: str) -> None:  # noqa: F811
    from playwright.sync_api import expect

    with phone_page(browser, site, "editor", DEMO_PASSWORD) as page:
        page.goto(site + "/flags/new-rag-pipeline/?env=development")
        page.locator("#switch-new-rag-pipeline-development").click()
        expect(page.locator("#targeting-status-development")).to_have_attribute("data-state", "off")
        assert_no_sideways_scroll(page)
        screenshot(page, "flag-page-toggled-off-390")
