"""Guardrails in the browser: an editor edits a default guardrail, removes one, adds a team
metric's guardrail (static/ui/guardrails.js: "Add guardrail", the unit follows the metric),
creates the experiment and reads its guardrails on its page, then changes one there; at 1280
and 390 px without sideways scroll, under the strict CSP."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser import login, screenshot
from tests.e2e.flows_support import PHONE, assert_no_sideways_scroll
from tests.e2e.ui_support import DEMO_PASSWORD, site  # noqa: F401
from tests.experiments.builders import SEARCH_LATENCY

pytestmark = pytest.mark.e2e


def _create_with_guardrails(page: Any, base: str, key: str, shot: str) -> None:
    from playwright.sync_api import expect

    page.goto(f"{base}/experiments/new")
    rows = page.locator("#guardrails [data-guardrail-row]:visible")
    expect(rows).to_have_count(4)  # the defaults; blank rows wait behind "Add guardrail"
    expect(page.locator("#id_guardrail-0-threshold")).to_have_value("0.1")
    expect(page.locator("#id_guardrail-0-unit")).to_have_text("%")
    expect(page.locator("#id_guardrail-2-unit")).to_have_text("ms")
    page.fill("#id_key", key)
    page.select_option("#id_flag", "llm-model")
    page.select_option("#id_environment", "development")
    page.fill("#id_control", "gpt-4")
    page.fill("#id_treatments", "gpt-4-turbo")
    page.select_option("#id_primary_metric", "thumbs_up_rate")
    # Edit a default, remove one, add the team metric's guardrail
    page.fill("#id_guardrail-3-threshold", "2")
    page.get_by_role("button", name="Remove guardrail 2").click()
    expect(rows).to_have_count(3)
    page.get_by_role("button", name="Add guardrail").click()
    expect(rows).to_have_count(4)
    added = rows.last
    added.locator(".guardrail-metric").select_option("search-latency")
    expect(added.locator(".guardrail-unit")).to_have_text("ms")
    expect(added.locator(".guardrail-sign")).to_have_text("≤")
    added.locator(".guardrail-threshold").fill("1200")
    assert_no_sideways_scroll(page)
    screenshot(page, f"guardrails-new-{shot}")
    page.get_by_role("button", name="Create draft").click()
    page.wait_for_url(f"**/experiments/{key}/")
    listed = page.locator("#exp-guardrail-config li")
    expect(listed).to_have_text(
        [
            "Safety-violation rate ≤ 0.1 %",
            "P95 latency ≤ 3000 ms",
            "Error rate ≤ 2 %",
            "Search latency ≤ 1200 ms",
        ]
    )
    assert_no_sideways_scroll(page)
    # And on its page, a guardrail changes (a draft here; running ones are audited alike)
    page.get_by_role("link", name="Edit guardrails").click()
    page.wait_for_url(f"**/experiments/{key}/guardrails")
    expect(page.locator("#id_guardrail-2-threshold")).to_have_value("2")
    page.fill("#id_guardrail-2-threshold", "1.5")
    assert_no_sideways_scroll(page)
    page.get_by_role("button", name="Save guardrails").click()
    page.wait_for_url(f"**/experiments/{key}/")
    expect(listed.nth(2)).to_have_text("Error rate ≤ 1.5 %")


def test_an_editor_edits_guardrails_on_the_form_and_the_page(
    page: Any,
    browser: Any,
    site: str,  # noqa: F811
) -> None:
    from experiments.team_metric_changes import team_metric_create
    from flags.changes import Actor

    team_metric_create(data=SEARCH_LATENCY, actor=Actor(label="test"))
    login(page, site, "editor", DEMO_PASSWORD)
    _create_with_guardrails(page, site, "guarded-wide", "1280")

    phone = browser.new_context(viewport=PHONE, device_scale_factor=1)
    phone.set_default_timeout(10_000)
    small = phone.new_page()
    try:
        login(small, site, "editor", DEMO_PASSWORD)
        _create_with_guardrails(small, site, "guarded-phone", "390")
    finally:
        phone.close()
