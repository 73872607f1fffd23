"""Import from Unleash in Chromium: paste the client API JSON, read the dry-run plan (what is
created, what changes and how, every warning), apply it, and see /api/v1/evaluate serve it."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.browser import login, screenshot
from tests.e2e.flows_support import assert_no_sideways_scroll, phone_page
from tests.e2e.ui_support import DEMO_PASSWORD, evaluate_api, site  # noqa: F401

pytestmark = pytest.mark.e2e

UNLEASH = {
    "version": 2,
    "features": [
        {
            "name": "checkout-v2",
            "enabled": True,
            "strategies": [{"name": "userWithId", "parameters": {"userIds": "alice,carol"}}],
        },
        {
            # The demo's flag: Unleash serves it to everyone, where the demo has a rule.
            "name": "new-rag-pipeline",
            "enabled": True,
            "strategies": [{"name": "default", "parameters": {}}],
        },
        {
            "name": "legacy-banner",
            "enabled": True,
            "strategies": [{"name": "myCustomStrategy", "parameters": {}}],
        },
    ],
    "segments": [],
}


def test_it_pastes_unleash_json_reads_the_plan_and_applies_it(
    page: Any,
    site: str,  # noqa: F811
    browser: Any,
) -> None:
    from playwright.sync_api import expect

    from flags.models import AuditEvent

    # Given Unleash says alice gets checkout-v2 and the demo serves new-rag-pipeline by a rule
    assert evaluate_api(site, "checkout-v2", {"key": "alice"})["error_code"] == "FLAG_NOT_FOUND"
    # (the demo serves new-rag-pipeline to 25 % of users: find one left out)
    left_out = next(
        f"user-{i}"
        for i in range(100)
        if evaluate_api(site, "new-rag-pipeline", {"key": f"user-{i}"})["value"] is False
    )

    # When an editor pastes the Unleash export
    login(page, site, "editor", DEMO_PASSWORD)
    page.click("text=Import from Unleash")
    page.select_option("#environment", "development")
    page.fill("#document", json.dumps(UNLEASH, indent=2))
    page.click("#make-plan")

    # Then the plan says what is created and changed, and warns about the custom strategy
    page.wait_for_url("**/imports/*/")
    expect(page.locator("#plan-counts")).to_contain_text(
        "3 flags: 2 to create, 1 to change, 0 unchanged"
    )
    expect(page.locator("#plan-counts")).to_contain_text("1 warning.")
    rows = page.locator("#plan-flags tr[data-flag]")
    actions = {r.get_attribute("data-flag"): r.get_attribute("data-action") for r in rows.all()}
    assert actions == {
        "checkout-v2": "create",
        "new-rag-pipeline": "change",
        "legacy-banner": "create",
    }
    expect(page.locator("#plan-warnings")).to_contain_text(
        "legacy-banner: strategy 'myCustomStrategy' is not a built-in Unleash strategy"
    )
    page.click("text=What changes in new-rag-pipeline")
    diff = page.locator(".plan-diff table.diff")
    expect(diff).to_contain_text("rules")
    expect(diff).to_contain_text("Internal users")  # the demo's rule, removed
    screenshot(page, "import-plan-1280")
    assert not page.csp_violations
    plan_url = page.url

    with phone_page(browser, site, "editor", DEMO_PASSWORD) as phone:
        phone.goto(plan_url)
        assert_no_sideways_scroll(phone)
        screenshot(phone, "import-plan-390")

    # When it is applied
    page.click("#apply")
    expect(page.locator("#import-status")).to_have_attribute("data-status", "succeeded")
    expect(page.locator("#import-summary")).to_contain_text("2 flags created, 1 changed")
    expect(page.locator("#import-created a")).to_have_text(["checkout-v2", "legacy-banner"])
    screenshot(page, "import-result-1280")

    # Then the delivery API serves the imported flags: Unleash's userId is our targeting key
    assert evaluate_api(site, "checkout-v2", {"key": "alice"})["value"] is True
    assert evaluate_api(site, "checkout-v2", {"key": "bob"})["value"] is False
    assert evaluate_api(site, "new-rag-pipeline", {"key": left_out})["value"] is True
    assert AuditEvent.objects.filter(action="import.applied").count() == 1

    # And going back and applying again does nothing twice
    page.go_back()
    page.reload()
    expect(page.locator("#apply")).to_have_count(0)
    expect(page.locator("#import-status")).to_have_attribute("data-status", "succeeded")
    assert AuditEvent.objects.filter(action="import.applied").count() == 1

    # And the flag links lead to the imported flag's page
    page.click("#import-created >> text=checkout-v2")
    page.wait_for_url("**/flags/checkout-v2/?env=development")
