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


def test_a_large_import_shows_the_worker_s_progress_until_the_result(
    page: Any,
    site: str,  # noqa: F811
    tmp_path: Any,
    monkeypatch: Any,
    settings: Any,
) -> None:
    from playwright.sync_api import expect

    from tests.celery_worker import celery_worker
    from tests.imports.support import document, feature, send_to_test_broker

    # Given an import over the inline limit (lowered to 2 for a quick test)
    settings.FLAGSITE_IMPORT_INLINE_MAX_FLAGS = 2
    send_to_test_broker(monkeypatch)
    data = document(*(feature(f"bulk-{i}", user_ids=f"user-{i}") for i in range(5)))
    login(page, site, "admin", DEMO_PASSWORD)
    page.goto(site + "/imports/unleash/")
    page.select_option("#environment", "development")
    page.fill("#document", json.dumps(data))
    page.click("#make-plan")
    expect(page.locator("#plan-counts")).to_contain_text("5 flags: 5 to create")
    expect(page.locator("#apply-form")).to_contain_text("runs in the background worker")

    # When it is applied while no worker runs yet, the page says it waits and keeps polling
    page.click("#apply")
    status = page.locator("#import-status")
    expect(status).to_have_attribute("data-status", "queued")
    expect(status).to_contain_text("Waiting for the worker")
    expect(page.locator("#import-progress")).to_have_attribute("max", "10")
    page.evaluate("window.__noReload = true")

    # Then, once a worker takes the job, the same page shows the result (no reload)
    with celery_worker(tmp_path):
        expect(status).to_have_attribute("data-status", "succeeded", timeout=60_000)
    assert page.evaluate("window.__noReload") is True
    expect(page.locator("#import-summary")).to_contain_text("5 flags created")
    expect(page.locator("#import-created a")).to_have_count(5)
    screenshot(page, "import-worker-result-1280")
    assert evaluate_api(site, "bulk-3", {"key": "user-3"})["value"] is True
    assert evaluate_api(site, "bulk-3", {"key": "user-4"})["value"] is False
