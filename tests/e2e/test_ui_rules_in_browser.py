"""Add a targeting rule through the form; try it and the delivery API both see it."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser import login
from tests.e2e.ui_support import DEMO_PASSWORD, evaluate_api, site  # noqa: F401

pytestmark = pytest.mark.e2e


def test_it_adds_a_rule_that_takes_effect(page: Any, site: str) -> None:  # noqa: F811
    from playwright.sync_api import expect

    vip = {"key": "zed", "tier": "vip"}
    assert evaluate_api(site, "llm-model", vip)["value"] == "gpt-4-turbo"  # the dev default

    login(page, site, "editor", DEMO_PASSWORD)
    page.goto(site + "/flags/llm-model/?env=development")
    page.click("#add-rule")
    name = page.locator("#r1-name")
    expect(name).to_be_focused()  # focus goes where work continues
    name.fill("VIP tier stays on gpt-4")
    page.fill("#r1-c0-attribute", "tier")
    page.select_option("#r1-c0-op", "in")
    page.fill("#r1-c0-values", "vip, enterprise")
    page.select_option("#r1-variant", "gpt-4")
    page.fill("#comment", "VIPs keep the proven model")
    page.click("#save")
    expect(page.locator(".toast").first).to_contain_text("as version 3")

    result = evaluate_api(site, "llm-model", vip)
    assert (result["value"], result["reason"]) == ("gpt-4", "TARGETING_MATCH")
    assert evaluate_api(site, "llm-model", {"key": "zed"})["value"] == "gpt-4-turbo"

    # Try it evaluates the same configuration, and names the rule.
    page.fill("#id_context", '{"key": "zed", "tier": "enterprise"}')
    page.get_by_role("button", name="Evaluate", exact=True).click()
    expect(page.locator("#try-result")).to_contain_text("TARGETING_MATCH")
    expect(page.locator("#try-result")).to_contain_text("#2 VIP tier stays on gpt-4")


def test_split_weights_must_total_100_before_saving(page: Any, site: str) -> None:  # noqa: F811
    from playwright.sync_api import expect

    from flags.models import FlagConfig

    login(page, site, "editor", DEMO_PASSWORD)
    page.goto(site + "/flags/llm-model/?env=development")
    page.check("input[name=default-mode][value=split]", force=True)
    expect(page.locator("#default-w0")).to_have_value("50")  # even split to start from
    page.fill("#default-w0", "70")
    total = page.locator("[data-serve]:has(#default-w0) [data-split-total]")
    expect(total).to_contain_text("must be 100%")
    page.click("#save")
    expect(page.locator("#targeting .field-errors").first).to_contain_text("must total 100%")
    page.fill("#default-w1", "30")
    expect(total).to_have_text("Total 100%")
    page.click("#save")
    expect(page.locator(".toast").first).to_contain_text("Saved")
    config = FlagConfig.objects.get(flag__key="llm-model", environment__key="development")
    assert [s["weight"] for s in config.default["split"]] == [70, 30]
