"""A rollout plan shaped on the page: an admin starts from the feature-rollout template,
changes a phase and a gate, removes a phase (static/ui/plan_rows.js), creates a draft, reloads,
edits it, starts it and sees the phases in the plan's timeline; the form fits 390 px."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser import login, screenshot
from tests.e2e.flows_support import assert_fits, phone_page
from tests.e2e.ui_support import DEMO_PASSWORD, site  # noqa: F401

pytestmark = pytest.mark.e2e


def test_an_admin_shapes_a_draft_edits_it_and_starts_it(
    page: Any,
    browser: Any,
    site: str,  # noqa: F811
) -> None:
    from playwright.sync_api import expect

    login(page, site, "admin", DEMO_PASSWORD)
    page.goto(f"{site}/flags/llm-model/rollouts/")
    form = page.locator("#rollout-new")
    # Given the feature-rollout template's rows (htmx swaps the form in place)
    form.get_by_role("link", name="feature_rollout").click()
    expect(page.locator("input[name=phase-0-audience]")).to_have_value("internal-users")
    phases = page.locator("#plan-phases [data-plan-row]:visible")
    expect(phases).to_have_count(5)
    # When the admin changes the second phase and a gate, drops the paid tier, adds a phase
    form.locator("select[name=environment]").select_option("development")
    form.locator("select[name=variant]").select_option("gpt-4")
    form.locator("select[name=replaces]").select_option("gpt-4-turbo")
    page.fill("input[name=phase-1-audience]", "10 %")
    expect(page.locator("input[name=phase-1-name]")).to_have_value("")  # "5 % of users" went
    page.fill("input[name=phase-1-name]", "ten percent")
    page.fill("input[name=phase-1-hours]", "6")
    page.get_by_role("button", name="Remove phase 3").click()
    expect(phases).to_have_count(4)
    page.fill("input[name=gate-0-threshold]", "0.02")
    page.fill("input[name=gate-0-window]", "15")
    form.locator("input[name=start]").uncheck()
    page.locator("#rollout-new").get_by_role("button", name="Create plan").click()
    draft = page.locator(".draft-plan")
    expect(draft).to_have_count(1)
    # Then the draft (after a reload) lists the admin's phases and gates
    page.reload()
    expect(draft.locator("ol li")).to_have_text(
        [
            "internal users: segment internal-users",
            "ten percent: 10 % of units",
            "all users: 100 % of units",
            "complete: complete: new default for everyone",
        ]
    )
    expect(draft.locator("ul li").first).to_have_text("error_rate > 0.02 over 900s, min 50")
    # When it is edited: the first phase observes for 2 hours, a latency gate tightens
    draft.get_by_role("link", name="Edit phases and gates").click()
    expect(page.locator("input[name=phase-1-audience]")).to_have_value("10 %")
    page.fill("input[name=phase-0-hours]", "2")
    page.fill("input[name=gate-1-threshold]", "4000")
    page.get_by_role("button", name="Save draft").click()
    page.wait_for_url("**/flags/llm-model/rollouts/")
    expect(draft.locator("ul li").nth(1)).to_have_text("p95_latency_ms > 4000.0 over 600s, min 50")
    # And started, the plan's timeline shows the phases
    draft.get_by_role("button", name="Start").click()
    page.wait_for_selector(".rollout-status[data-status=running]")
    timeline = page.locator(".rollout-timeline .rollout-phase strong")
    expect(timeline).to_have_text(["internal users", "ten percent", "all users", "complete"])
    expect(page.locator(".phase-current")).to_contain_text("internal users")
    screenshot(page, "rollout-plan-editor")

    with phone_page(browser, site, "admin", DEMO_PASSWORD) as small:
        small.goto(f"{site}/flags/llm-model/rollouts/?template=feature_rollout")
        small.locator("#rollout-new").scroll_into_view_if_needed()
        assert_fits(small, "#rollout-new")
        screenshot(small, "rollout-plan-editor-390")
