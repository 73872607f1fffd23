"""Roll a flag's configuration back to an earlier version, with a comment, from its history."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser import login
from tests.e2e.ui_support import DEMO_PASSWORD, evaluate_api, site  # noqa: F401

pytestmark = pytest.mark.e2e


def test_it_rolls_back_a_version(page: Any, site: str) -> None:  # noqa: F811
    from playwright.sync_api import expect

    from flags.models import AuditEvent, FlagConfig

    assert evaluate_api(site, "llm-model", {"key": "zed"})["reason"] != "DISABLED"
    login(page, site, "admin", DEMO_PASSWORD)
    page.goto(site + "/flags/llm-model/history/?scope=development")

    # Compare v1 (as created: off) with the current version first.
    page.locator("#version-1").get_by_text("Compare with current").click()
    expect(page.locator("#diff")).to_contain_text("enabled")

    page.locator("#version-1 summary").click()
    comment = page.locator("#version-1 input[name=comment]")
    expect(comment).to_be_visible()
    page.locator("#version-1 button[type=submit]").click()  # empty: the browser refuses
    assert (
        FlagConfig.objects.get(flag__key="llm-model", environment__key="development").version == 2
    )
    comment.fill("back to the start")
    page.locator("#version-1 button[type=submit]").click()
    expect(page.locator(".toast").first).to_contain_text("Rolled back to version 1")
    expect(page.locator("#version-3")).to_contain_text("back to the start")

    result = evaluate_api(site, "llm-model", {"key": "zed"})
    assert (result["reason"], result["value"]) == ("DISABLED", "gpt-4")
    assert AuditEvent.objects.filter(action="flag.rolled_back").count() == 1
    # A rollback a person made is a change (Recent changes), not an alert
    page.goto(site + "/")
    rollback = AuditEvent.objects.get(action="flag.rolled_back")
    expect(
        page.locator(f"section[aria-labelledby=recent-title] a[href='/audit/{rollback.id}/']")
    ).to_be_visible()
    expect(page.locator("section[aria-labelledby=alerts-title]")).to_contain_text("No open alerts")
