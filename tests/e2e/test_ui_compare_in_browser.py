"""Compare environments and copy targeting, in Chromium: the differences the page shows, the
preview, one applied change, and what the delivery API serves afterwards. With JavaScript (htmx)
and without; a reload or the back button never applies the copy twice."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

import pytest

from tests.browser import login, screenshot
from tests.e2e.flows_support import assert_no_sideways_scroll, phone_page
from tests.e2e.ui_support import DEMO_PASSWORD, evaluate_api, site  # noqa: F401

pytestmark = pytest.mark.e2e

PRODUCTION_CLIENT_KEY = "fs_cli_test_production_client_key"


def _copies() -> int:
    from flags.models import AuditEvent

    return AuditEvent.objects.filter(action="flag.config_copied").count()


def _row(page: Any, label: str) -> Any:
    return page.locator(f'tr[data-compare-row="{label}"]')


def _served_in_production(base_url: str, flag: str, keys: list[str]) -> set[str]:
    """The variants POST /api/v1/evaluate serves these users in production."""
    from delivery.keys import api_key_create
    from delivery.models import ApiKey
    from flags.changes import Actor
    from flags.models import Environment

    if not ApiKey.objects.filter(key_hash=ApiKey.hash_key(PRODUCTION_CLIENT_KEY)).exists():
        api_key_create(
            environment=Environment.objects.get(key="production"),
            kind="client",
            name="test production client key",
            actor=Actor(label="test"),
            raw=PRODUCTION_CLIENT_KEY,
        )
    served = set()
    for key in keys:
        request = urllib.request.Request(
            f"{base_url}/api/v1/evaluate",
            data=json.dumps({"context": {"key": key}, "flags": [flag]}).encode(),
            headers={
                "Authorization": f"Bearer {PRODUCTION_CLIENT_KEY}",
                "Content-Type": "application/json",
            },
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            served.add(json.load(response)["flags"][flag]["variant"])
    return served


def test_it_compares_and_copies_staging_to_development_with_htmx(
    page: Any,
    site: str,  # noqa: F811
) -> None:
    from playwright.sync_api import expect

    assert evaluate_api(site, "llm-model", {"key": "user-1"})["variant"] == "gpt-4-turbo"
    login(page, site, "editor", DEMO_PASSWORD)
    page.goto(f"{site}/flags/llm-model/")
    page.get_by_role("link", name="Compare environments").click()
    page.wait_for_url("**/flags/llm-model/compare/")
    # Given staging against development
    page.select_option("#compare-a", "staging")
    page.select_option("#compare-b", "development")
    page.get_by_role("button", name="Compare").click()
    page.wait_for_url("**a=staging&b=development")
    default = _row(page, "default")
    expect(default).to_have_attribute("data-differs", "true")
    expect(default.locator('td[data-side="a"]')).to_have_text("serve gpt-4")
    expect(default.locator('td[data-side="b"]')).to_have_text("serve gpt-4-turbo")
    expect(default.locator(".badge-differs")).to_be_visible()
    expect(_row(page, "rule:internal")).to_have_attribute("data-differs", "false")
    expect(_row(page, "enabled")).to_have_attribute("data-differs", "false")
    differing = page.locator('tr[data-differs="true"]').count()
    expect(page.get_by_test_id("difference-count")).to_have_text(f"{differing} differences")

    # When the editor previews the copy (loaded into the page by htmx)
    page.evaluate("window.__noReload = true")
    page.get_by_role("link", name="Copy Staging's targeting to Development…").click()
    preview = page.get_by_test_id("copy-preview")
    expect(preview).to_be_visible()
    assert page.evaluate("window.__noReload") is True
    change = preview.locator("table.diff tbody tr")
    expect(change).to_have_count(1)
    expect(change.locator("th")).to_have_text("default.variant")
    expect(change.locator("td.del")).to_have_text('"gpt-4-turbo"')
    expect(change.locator("td.ins")).to_have_text('"gpt-4"')
    screenshot(page, "compare-preview-1280")
    # ... and applies it
    preview.get_by_role("button", name="Copy to Development").click()
    expect(page.locator(".toast")).to_contain_text("Copied Staging's targeting to Development")
    assert "a=staging&b=development" in page.url and "/copy/" not in page.url
    expect(page.get_by_test_id("difference-count")).to_have_text("no differences")

    # Then development serves staging's default, as one change
    assert evaluate_api(site, "llm-model", {"key": "user-1"})["variant"] == "gpt-4"
    assert _copies() == 1
    page.reload()
    page.go_back()
    page.go_forward()
    assert _copies() == 1


def test_it_copies_to_production_without_javascript_with_a_comment(
    browser: Any,
    site: str,  # noqa: F811
) -> None:
    from playwright.sync_api import expect

    users = [f"user-{i}" for i in range(20)]
    assert _served_in_production(site, "rag-config", users) == {"baseline"}
    context = browser.new_context(
        java_script_enabled=False, viewport={"width": 1280, "height": 800}
    )
    context.set_default_timeout(10_000)
    page = context.new_page()
    try:
        login(page, site, "admin", DEMO_PASSWORD)
        page.goto(f"{site}/flags/rag-config/compare/")  # staging against production by default
        default = _row(page, "default")
        expect(default).to_have_attribute("data-differs", "true")
        expect(default.locator('td[data-side="a"]')).to_contain_text("baseline 50%")
        expect(default.locator('td[data-side="a"]')).to_contain_text("reranked 50%")
        expect(default.locator('td[data-side="b"]')).to_have_text("serve baseline")
        expect(_row(page, "variant:reranked")).to_contain_text("default 50%")

        page.get_by_role("link", name="Copy Staging's targeting to Production…").click()
        page.wait_for_url("**/flags/rag-config/copy/?from=staging&to=production")
        expect(page.get_by_test_id("copy-preview")).to_contain_text("required for production")
        expect(page.locator("table.diff tbody th")).to_have_text(
            ["default.variant", "default.split", "default.bucket_by"]
        )
        page.fill("#copy-comment", "staging's split looked good")
        page.get_by_role("button", name="Copy to Production").click()
        page.wait_for_url("**/flags/rag-config/compare/?a=staging&b=production")
        expect(page.locator(".toast")).to_contain_text("Copied Staging's targeting to Production")
        expect(page.get_by_test_id("difference-count")).to_have_text("no differences")
        assert _served_in_production(site, "rag-config", users) == {"baseline", "reranked"}

        from flags.models import AuditEvent

        event = AuditEvent.objects.get(action="flag.config_copied")
        assert event.environment is not None and event.environment.key == "production"
        assert event.comment == "staging's split looked good"
        assert "copied staging's targeting" in event.summary
        # Reload is a GET; back shows a fresh preview with nothing left to copy
        page.reload()
        page.go_back()
        expect(page.get_by_test_id("copy-nothing")).to_be_visible()
        assert _copies() == 1
    finally:
        context.close()


def test_a_copy_previewed_before_someone_else_changed_the_target_is_refused(
    page: Any,
    site: str,  # noqa: F811
) -> None:
    from playwright.sync_api import expect

    from flags.changes import Actor, flag_config_update
    from flags.models import Environment, Flag

    login(page, site, "editor", DEMO_PASSWORD)
    page.goto(f"{site}/flags/llm-model/compare/?a=staging&b=development")
    page.get_by_role("link", name="Copy Staging's targeting to Development…").click()
    expect(page.get_by_test_id("copy-preview")).to_be_visible()
    # Meanwhile someone changes development's default
    flag_config_update(
        flag=Flag.objects.get(key="llm-model"),
        environment=Environment.objects.get(key="development"),
        actor=Actor(label="someone else"),
        default={"variant": "gpt-4-turbo"},
        rules=[],
    )
    page.get_by_role("button", name="Copy to Development").click()
    errors = page.get_by_test_id("copy-errors")
    expect(errors).to_contain_text("Development changed since the preview")
    expect(errors).to_contain_text("Nothing was copied")
    assert _copies() == 0
    assert evaluate_api(site, "llm-model", {"key": "user-1"})["variant"] == "gpt-4-turbo"
    # The new preview (against development now) includes the rule it lost
    expect(page.locator("table.diff tbody th").first).to_be_visible()
    expect(page.get_by_test_id("copy-preview")).to_contain_text("rules")


def test_the_compare_view_fits_a_phone(browser: Any, site: str) -> None:  # noqa: F811
    from playwright.sync_api import expect

    with phone_page(browser, site, "admin", DEMO_PASSWORD) as page:
        page.goto(f"{site}/flags/rag-config/compare/?a=staging&b=production")
        expect(_row(page, "default")).to_be_visible()
        assert_no_sideways_scroll(page)
        page.get_by_role("link", name="Copy Staging's targeting to Production…").click()
        expect(page.get_by_test_id("copy-preview")).to_be_visible()
        screenshot(page, "compare-preview-390")
        assert_no_sideways_scroll(page)
