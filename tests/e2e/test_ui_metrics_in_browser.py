"""A team metric in the browser: an editor opens Metrics from the navigation, defines a metric
with the form (the live preview answers over htmx), and finds it in the experiment form's
metric pickers; the pages fit 1280 and 390 px without sideways scroll, under the strict CSP."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser import login, screenshot
from tests.e2e.flows_support import PHONE, assert_no_sideways_scroll
from tests.e2e.ui_support import DEMO_PASSWORD, site  # noqa: F401

pytestmark = pytest.mark.e2e


def _define_metric(page: Any, base: str, key: str) -> None:
    from playwright.sync_api import expect

    page.goto(f"{base}/")
    page.get_by_role("link", name="Metrics").click()
    page.wait_for_url("**/metrics/")
    expect(page.locator("#builtin-metrics")).to_contain_text("Hallucination rate")
    assert_no_sideways_scroll(page)
    page.get_by_role("link", name="New metric").click()
    page.wait_for_url("**/metrics/new")
    page.fill("#id_key", key)
    page.fill("#id_name", f"Search latency {key}")
    page.select_option("#id_source", "llm_call")
    page.select_option("#id_kind", "mean")
    page.select_option("#id_direction", "lower")
    page.select_option("#id_value", "latency_ms")
    page.fill("#id_filters", "feature == search")
    page.select_option("#id_format", "ms")
    page.select_option("#id_preview_environment", "development")
    expect(page.locator("#metric-preview-value")).to_contain_text("event")  # htmx preview
    assert_no_sideways_scroll(page)
    page.get_by_role("button", name="Create metric").click()
    page.wait_for_url(f"**/metrics/{key}/")
    expect(page.locator("h1")).to_have_text(f"Search latency {key}")


def _sees_it_in_the_pickers(page: Any, base: str, key: str) -> None:
    from playwright.sync_api import expect

    page.goto(f"{base}/experiments/new")
    expect(page.locator(f"#id_primary_metric option[value='{key}']")).to_have_count(1)
    expect(page.locator(f"input[name=secondary_metrics][value='{key}']")).to_have_count(1)
    page.select_option("#id_primary_metric", key)
    assert_no_sideways_scroll(page)


def test_an_editor_defines_a_metric_and_picks_it_for_an_experiment(
    page: Any,
    browser: Any,
    site: str,  # noqa: F811
) -> None:
    login(page, site, "editor", DEMO_PASSWORD)
    _define_metric(page, site, "search-latency")
    screenshot(page, "metric-edit-1280")
    _sees_it_in_the_pickers(page, site, "search-latency")

    phone = browser.new_context(viewport=PHONE, device_scale_factor=1)
    phone.set_default_timeout(10_000)
    small = phone.new_page()
    try:
        login(small, site, "editor", DEMO_PASSWORD)
        small.goto(f"{site}/metrics/")
        assert_no_sideways_scroll(small)
        screenshot(small, "metrics-390")
        small.goto(f"{site}/metrics/new")
        _define_metric(small, site, "phone-latency")  # the nav link is there on a phone too
        screenshot(small, "metric-edit-390")
        _sees_it_in_the_pickers(small, site, "phone-latency")
    finally:
        phone.close()
