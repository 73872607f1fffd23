"""The alert list in a browser: the navigation badge counts open alerts, acknowledge and resolve
update the row and the badge in place, the filters narrow the list, every alert page passes the
Content-Security-Policy."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser import login, screenshot
from tests.e2e.ui_support import DEMO_PASSWORD, site  # noqa: F401

pytestmark = pytest.mark.e2e


def _raise_three() -> list[Any]:
    from alerts.api import raise_alert

    return [
        raise_alert(
            source="budget", dedupe_key="budget:1:2026-12:80", severity="warning",
            title="Budget all-traffic at 80 %", body="Spent $80.00 of $100.00 this month.",
            link="/feedback/prices/",
        ),
        raise_alert(
            source="rollout", dedupe_key="plan:7:gate", severity="critical",
            title="Rollout of llm-model rolled back", link="/flags/llm-model/",
        ),
        raise_alert(
            source="experiment", dedupe_key="srm:3", severity="info", title="SRM on prompt test"
        ),
    ]  # fmt: skip


def test_it_acknowledges_and_resolves_with_the_badge_following(page: Any, site: str) -> None:  # noqa: F811
    from playwright.sync_api import expect

    from alerts.models import Alert

    budget, rollout, srm = _raise_three()
    Alert.objects.filter(pk=srm.pk).update(status="resolved")
    login(page, site, "editor", DEMO_PASSWORD)
    badge = page.locator("#alerts-badge")
    # Given two open alerts, the badge on every page says 2 and the dashboard lists them
    expect(badge).to_contain_text("2")
    page.goto(site + "/")
    box = page.locator("section[aria-labelledby=alerts-title]")
    expect(box.locator(".feed-item")).to_have_count(2)
    expect(box.locator(".feed-item").first).to_contain_text("Critical")
    expect(box.locator(".feed-item").first).to_contain_text("Rollout of llm-model rolled back")
    page.click("nav >> text=Alerts")
    page.wait_for_url("**/alerts/")
    page.evaluate("window.__noReload = true")
    rows = page.locator(".alert-item")
    expect(rows).to_have_count(2)
    expect(page.locator(f"#alert-{rollout.pk} a", has_text="What fired")).to_have_attribute(
        "href", "/flags/llm-model/"
    )

    # When the editor acknowledges the budget alert with a comment
    row = page.locator(f"#alert-{budget.pk}")
    row.locator("input[name=comment]").fill("on it")
    row.get_by_role("button", name="Acknowledge").click()
    # Then its row says so and the badge drops to 1, without a reload
    expect(page.locator(f"#alert-{budget.pk} .status")).to_have_text("Acknowledged")
    expect(badge).to_contain_text("1")

    # When the rollout alert is resolved, the badge empties
    page.locator(f"#alert-{rollout.pk}").get_by_role("button", name="Resolve").click()
    expect(page.locator(f"#alert-{rollout.pk} .status")).to_have_text("Resolved")
    expect(badge).to_be_hidden()
    assert page.evaluate("window.__noReload") is True
    screenshot(page, "alerts-list")

    budget.refresh_from_db()
    rollout.refresh_from_db()
    assert (budget.status, budget.acknowledged_comment) == ("acknowledged", "on it")
    assert budget.acknowledged_by.username == "editor"
    assert rollout.status == "resolved" and rollout.resolved_by.username == "editor"

    # The filters narrow the list in place
    page.select_option("#id_status", "resolved")
    expect(rows).to_have_count(2)  # the rollout alert and the SRM resolved earlier
    page.select_option("#id_source", "experiment")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("SRM on prompt test")
    assert "source=experiment" in page.url


def test_every_alert_page_passes_the_policy(page: Any, site: str) -> None:  # noqa: F811
    from alerts.models import Channel, Subscription

    budget, _, _ = _raise_three()
    channel = Channel.objects.create(
        name="ops", kind="webhook", url="https://hooks.example.com/x",
        secret="whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    )  # fmt: skip
    Subscription.objects.create(channel=channel, source="budget", min_severity="warning")
    login(page, site, "admin", DEMO_PASSWORD)
    for path in [
        "/alerts/",
        "/alerts/?status=all&severity=critical",
        f"/alerts/{budget.pk}/",
        "/alerts/channels/",
        "/alerts/channels/new/",
        f"/alerts/channels/{channel.pk}/",
    ]:
        response = page.goto(site + path)
        assert response is not None and response.status == 200, path
        page.wait_for_load_state("load")
    screenshot(page, "alerts-channel")
