"""A change scheduled on the Rollouts tab: an admin picks an environment, a time (UTC) and a
default variant, sees the row appear (htmx swaps the card), reloads, cancels it and sees it
cancelled; a time in the past is refused with the form kept; the form fits 390 px."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from flagsite import clock
from tests.browser import login, screenshot
from tests.e2e.flows_support import assert_fits, phone_page
from tests.e2e.ui_support import DEMO_PASSWORD, site  # noqa: F401

pytestmark = pytest.mark.e2e


def test_an_admin_schedules_a_change_and_cancels_it(
    page: Any,
    browser: Any,
    site: str,  # noqa: F811
) -> None:
    from playwright.sync_api import expect

    login(page, site, "admin", DEMO_PASSWORD)
    page.goto(f"{site}/flags/llm-model/rollouts/")
    form = page.locator("#schedule-new")
    when = (clock.now() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    # A time in the past is refused, the choices kept
    form.locator("select[name=environment]").select_option("development")
    form.locator("input[name=run_at]").fill("2020-01-01T10:00")
    form.locator("select[name=default_variant]").select_option("gpt-4")
    form.locator("input[name=comment]").fill("back to gpt-4 overnight")
    form.get_by_role("button", name="Schedule").click()
    expect(page.locator(".schedule-errors")).to_have_text("When: Must be in the future.")
    expect(form.locator("select[name=default_variant]")).to_have_value("gpt-4")
    expect(form.locator("input[name=comment]")).to_have_value("back to gpt-4 overnight")
    # When the admin picks tomorrow, the new row appears, pending
    form.locator("input[name=run_at]").fill(when)
    form.get_by_role("button", name="Schedule").click()
    row = page.locator("tr.scheduled-pending")
    expect(row).to_have_count(1)
    expect(page.locator(".schedule-errors")).to_have_count(0)
    # Then, after a reload, it is listed with its time (UTC) and environment
    page.reload()
    expect(row.locator("td").first).to_have_text(when.replace("T", " "))
    expect(row).to_contain_text("Development")
    expect(row).to_contain_text("default variant gpt-4")
    expect(row.locator(".scheduled-status")).to_have_text("Pending")
    screenshot(page, "scheduled-change")
    # And cancelled, it stays listed as cancelled
    row.get_by_role("button", name="Cancel").click()
    cancelled = page.locator("tr.scheduled-cancelled")
    expect(cancelled).to_have_count(1)
    expect(cancelled.locator(".scheduled-status")).to_contain_text("Cancelled")
    expect(page.locator("tr.scheduled-pending")).to_have_count(0)

    with phone_page(browser, site, "admin", DEMO_PASSWORD) as small:
        small.goto(f"{site}/flags/llm-model/rollouts/#scheduled-changes")
        small.locator("#schedule-new").scroll_into_view_if_needed()
        assert_fits(small, "#scheduled-changes")
        screenshot(small, "scheduled-change-390")
