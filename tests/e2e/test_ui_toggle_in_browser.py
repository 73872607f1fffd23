"""Toggle a flag on the dashboard (the row updates in place) and see the delivery API serve it."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser import login
from tests.e2e.ui_support import DEMO_PASSWORD, evaluate_api, site  # noqa: F401

pytestmark = pytest.mark.e2e


def test_it_logs_in_and_out(page: Any, site: str) -> None:  # noqa: F811
    page.goto(site + "/")
    assert "/login/" in page.url
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", "wrong")
    page.click("button[type=submit]")
    assert page.locator(".alert-error").is_visible()
    login(page, site, "admin", DEMO_PASSWORD)
    assert page.locator("h1").inner_text() == "Flags"
    page.click("text=Log out")
    page.wait_for_url("**/login/")


def test_it_toggles_flag_and_the_api_serves_the_new_value(page: Any, site: str) -> None:  # noqa: F811
    from playwright.sync_api import expect

    context = {"key": "user-42"}
    before = evaluate_api(site, "new-rag-pipeline", context)
    assert before["reason"] != "DISABLED"

    login(page, site, "editor", DEMO_PASSWORD)
    marker = page.evaluate("window.__noReload = true")  # survives only if no full reload
    switch = page.locator("#switch-new-rag-pipeline-development")
    expect(switch).to_have_attribute("aria-checked", "true")
    switch.click()
    expect(switch).to_have_attribute("aria-checked", "false")
    assert page.evaluate("window.__noReload") is True, marker  # swapped in place by htmx

    after = evaluate_api(site, "new-rag-pipeline", context)
    assert after == {**after, "value": False, "variant": "off", "reason": "DISABLED"}

    switch.focus()  # keyboard works too
    page.keyboard.press("Enter")
    expect(switch).to_have_attribute("aria-checked", "true")
    assert evaluate_api(site, "new-rag-pipeline", context)["reason"] != "DISABLED"


def test_production_asks_for_a_comment(page: Any, site: str) -> None:  # noqa: F811
    from playwright.sync_api import expect

    from flags.models import AuditEvent

    login(page, site, "admin", DEMO_PASSWORD)
    page.once("dialog", lambda dialog: dialog.accept("launch day"))
    switch = page.locator("#switch-new-rag-pipeline-production")
    switch.click()
    expect(switch).to_have_attribute("aria-checked", "true")
    event = AuditEvent.objects.filter(action="flag.toggled", environment__key="production").first()
    assert event is not None and event.comment == "launch day"
