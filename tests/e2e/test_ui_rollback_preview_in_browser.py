"""A rollback's confirm says what will change from now (the flag turns OFF), stays inside the
viewport at 1280 and 390 px, and a segment rollback is logged as a rollback (issue 11)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser import login, screenshot
from tests.e2e.flows_support import assert_inside_viewport, assert_no_sideways_scroll, phone_page
from tests.e2e.ui_support import DEMO_PASSWORD, site  # noqa: F401

pytestmark = pytest.mark.e2e

HISTORY = "/flags/llm-model/history/?scope=development"


def _open_confirm(page: Any) -> Any:
    from playwright.sync_api import expect

    # llm-model v1 in development is the configuration as created: off.
    page.locator("#version-1 summary").click()
    panel = page.locator("#version-1 .confirm-panel")
    expect(panel).to_be_visible()
    return panel


def test_the_rollback_confirm_says_the_flag_turns_off(page: Any, site: str) -> None:  # noqa: F811
    from playwright.sync_api import expect

    from flags.models import FlagConfig

    login(page, site, "admin", DEMO_PASSWORD)
    page.goto(site + HISTORY)
    panel = _open_confirm(page)
    preview = panel.get_by_test_id("rollback-preview")
    expect(preview).to_contain_text("The flag will turn OFF in Development.")
    expect(preview).to_contain_text("Everyone will get gpt-4")
    # The full diff against the current version is in the panel too.
    expect(preview.locator("table.diff")).to_contain_text("enabled")
    assert_inside_viewport(panel)
    screenshot(page, "flag-history-rollback-confirm-1280")

    panel.locator("input[name=comment]").fill("too early")
    panel.get_by_role("button", name="Roll back to v1").click()
    expect(page.locator(".toast").first).to_contain_text("Rolled back to version 1")
    config = FlagConfig.objects.get(flag__key="llm-model", environment__key="development")
    assert config.enabled is False


def test_the_rollback_confirm_fits_a_phone(browser: Any, site: str) -> None:  # noqa: F811
    with phone_page(browser, site, "admin", DEMO_PASSWORD) as page:
        page.goto(site + HISTORY)
        panel = _open_confirm(page)
        panel.scroll_into_view_if_needed()
        assert_inside_viewport(panel)
        assert_inside_viewport(panel.get_by_role("button", name="Roll back to v1"))
        assert_no_sideways_scroll(page)
        screenshot(page, "flag-history-rollback-confirm-390")


def test_a_segment_rollback_is_logged_as_a_rollback(page: Any, site: str) -> None:  # noqa: F811
    from playwright.sync_api import expect

    from flags.changes import Actor, segment_update
    from flags.models import AuditEvent, Segment

    segment = Segment.objects.get(key="paid-tier")
    segment_update(segment=segment, actor=Actor(label="test"), included=["vip-1"], name="Paid")
    login(page, site, "admin", DEMO_PASSWORD)
    page.goto(site + "/segments/paid-tier/")
    page.locator("#segment-version-1 summary").click()
    panel = page.locator("#segment-version-1 .confirm-panel")
    expect(panel.get_by_test_id("rollback-preview")).to_contain_text(
        "Included keys: 1 now, 0 after."
    )
    assert_inside_viewport(panel)
    screenshot(page, "segment-rollback-confirm-1280")
    panel.locator("input[name=comment]").fill("vip list was a test")
    panel.get_by_role("button", name="Roll back to v1").click()
    page.wait_for_url(f"{site}/segments/paid-tier/")
    expect(page.locator(".toast").first).to_contain_text("Rolled back to version 1")

    segment.refresh_from_db()
    assert (segment.version, segment.included) == (3, [])
    event = AuditEvent.objects.filter(object_type="segment", object_key="paid-tier").first()
    assert event is not None and event.action == "segment.rolled_back"
    assert event.comment == "vip list was a test"
    activity = page.locator("section[aria-labelledby=seg-activity-title]")
    expect(activity).to_contain_text("segment.rolled_back")
