"""The cost page in a browser: seeded LLM calls with known costs, the numbers the page shows for
them, the server-rendered SVG chart, and htmx switching the grouping and period in place."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from tests.browser import login, screenshot
from tests.e2e.ui_support import DEMO_PASSWORD, site  # noqa: F401

pytestmark = pytest.mark.e2e


def _seed() -> None:
    """Last 24 h: gpt-4 $3.00 (2 calls), gpt-4o-mini $0.50 (2 calls) = $3.50; the 24 h before:
    $1.75."""
    from django.utils import timezone

    from flags.models import Environment
    from tests.costs.traffic import call, store

    dev = Environment.objects.get(key="development")
    prod = Environment.objects.get(key="production")
    now = timezone.now()
    store(
        [
            call(
                prod,
                now - timedelta(hours=1),
                "2.00",
                model="gpt-4",
                feature="chat",
                user_key="ann",
                conversation_id="conv-a",
                prompt_tokens=1500,
                completion_tokens=500,
            ),
            call(
                prod,
                now - timedelta(hours=3),
                "1.00",
                model="gpt-4",
                feature="chat",
                user_key="ann",
                conversation_id="conv-a",
                prompt_tokens=900,
                completion_tokens=100,
            ),
            call(
                dev,
                now - timedelta(hours=2),
                "0.25",
                model="gpt-4o-mini",
                feature="search",
                user_key="bob",
                conversation_id="conv-b",
                prompt_tokens=300,
                completion_tokens=100,
            ),
            call(
                dev,
                now - timedelta(hours=5),
                "0.25",
                model="gpt-4o-mini",
                feature="search",
                user_key="bob",
                conversation_id="conv-b",
                prompt_tokens=300,
                completion_tokens=100,
            ),
            call(prod, now - timedelta(hours=30), "1.75", model="gpt-4", feature="chat"),
        ]
    )


def test_the_cost_page_shows_the_seeded_numbers_and_charts(
    page: Any,
    browser: Any,
    site: str,  # noqa: F811
) -> None:
    from playwright.sync_api import expect

    _seed()
    login(page, site, "admin", DEMO_PASSWORD)
    page.goto(f"{site}/")
    page.get_by_role("link", name="Costs").click()
    page.wait_for_url("**/costs/")
    # The 7-day default holds everything: $5.25
    expect(page.locator('[data-total="cost"]')).to_have_text("$5.25")
    page.select_option("#id_period", "24h")  # htmx swaps the results on change
    page.wait_for_url("**period=24h**")
    expect(page.locator('[data-total="cost"]')).to_have_text("$3.50")
    expect(page.locator('[data-change="cost"]')).to_contain_text("+100.0 % vs previous ($1.75)")
    expect(page.locator('[data-total="calls"]')).to_have_text("4")
    expect(page.locator('[data-total="cost_per_call"]')).to_have_text("$0.8750")
    expect(page.locator('[data-total="tokens_per_call"]')).to_have_text("950")
    expect(page.locator('[data-group="gpt-4"] [data-cost]')).to_have_text("$3.00")
    expect(page.locator('[data-group="gpt-4o-mini"] [data-cost]')).to_have_text("$0.50")
    expect(page.locator('[data-top-user="ann"]')).to_contain_text("$3.00")
    expect(page.locator('[data-top-conversation="conv-b"]')).to_contain_text("$0.50")
    expect(page.locator('[data-share="gpt-4"]')).to_have_text("85.7 %")
    # The chart is drawn: one bar segment per (hour, model) with spend, with real size
    chart = page.locator("svg.cost-chart")
    expect(chart).to_be_visible()
    expect(chart.locator("rect")).to_have_count(4)
    box = chart.locator('rect[data-group="gpt-4"]').first.bounding_box()
    assert box is not None and box["height"] > 5 and box["width"] > 2
    heights = chart.evaluate(
        "svg => [...svg.querySelectorAll('rect')].map(r => [r.dataset.group, r.getBBox().height])"
    )
    by_group: dict[str, float] = {}
    for group, height in heights:
        by_group[group] = by_group.get(group, 0) + height
    # bar heights are proportional to spend: gpt-4 $3.00 vs gpt-4o-mini $0.50
    assert by_group["gpt-4"] / by_group["gpt-4o-mini"] == pytest.approx(6, rel=0.01)
    screenshot(page, "costs-24h-1280")

    # Group by environment: the results change in place (htmx), the URL follows
    page.select_option("#id_group", "environment")
    page.wait_for_url("**group=environment**")
    expect(page.locator('[data-group="production"] [data-cost]')).to_have_text("$3.00")
    expect(page.locator('[data-group="development"] [data-cost]')).to_have_text("$0.50")
    expect(chart.locator('rect[data-group="production"]').first).to_be_visible()

    # Without JavaScript's help the form still works (plain GET)
    page.goto(f"{site}/costs/?period=24h&group=feature")
    expect(page.locator('[data-group="chat"] [data-cost]')).to_have_text("$3.00")

    phone = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=1)
    small = phone.new_page()
    try:
        login(small, site, "admin", DEMO_PASSWORD)
        small.goto(f"{site}/costs/?period=24h")
        expect(small.locator("svg.cost-chart")).to_be_visible()
        screenshot(small, "costs-24h-390")
    finally:
        phone.close()
