"""Usage and outcomes in the browser: seeded evaluations and events with known counts, and the
numbers the flag page's Usage tab and the dashboard show for them."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

import pytest

from tests.browser import login, screenshot
from tests.e2e.ui_support import DEMO_PASSWORD, evaluate_api, site  # noqa: F401

pytestmark = pytest.mark.e2e

FLAG = "prompt-version"


def _seed(base_url: str) -> Counter[str]:
    """7 real /api/v1/evaluate calls (counted by the recorder, then flushed), 3 SDK exposures,
    6 LLM calls and 6 votes with known outcomes. Returns the expected evaluations per variant."""
    from django.utils import timezone

    from delivery.exposures import exposures_flush
    from feedback.models import Exposure, Feedback, LlmCall
    from flags.models import Environment, Flag

    expected: Counter[str] = Counter()
    for i in range(7):
        expected[evaluate_api(base_url, FLAG, {"key": f"user-{i}"})["variant"]] += 1
    exposures_flush()
    dev = Environment.objects.get(key="development")
    now = timezone.now()
    for i in range(3):
        when = now - timedelta(hours=2)
        Exposure.objects.create(
            environment=dev,
            event_id=f"exp-{i}",
            timestamp=when,
            received_at=when,
            flag_key=FLAG,
            variant_key="v2.0",
            user_key=f"sdk-{i}",
        )
    expected["v2.0"] += 3
    # v1.3: 4 calls, 1 error, latencies 100..400; v2.0: 2 calls, no error, 500 and 600 ms
    calls = [
        ("v1.3", True, 100),
        ("v1.3", False, 200),
        ("v1.3", False, 300),
        ("v1.3", False, 400),
        ("v2.0", False, 500),
        ("v2.0", False, 600),
    ]
    for i, (variant, error, latency) in enumerate(calls):
        when = now - timedelta(minutes=30)
        LlmCall.objects.create(
            environment=dev,
            event_id=f"call-{i}",
            timestamp=when,
            received_at=when,
            request_id=f"req-{i}",
            model="gpt-4o",
            flags={FLAG: variant},
            error=error,
            latency_ms=latency,
        )
    # votes by request id: v1.3 3 up + 1 down (ratings 5, 4); v2.0 1 up + 1 down (rating 2)
    votes = [
        (0, "thumbs_up", 5),
        (1, "thumbs_up", 4),
        (2, "thumbs_up", None),
        (3, "thumbs_down", None),
        (4, "thumbs_up", None),
        (5, "thumbs_down", 2),
    ]
    for i, kind, rating in votes:
        when = now - timedelta(minutes=20)
        Feedback.objects.create(
            environment=dev,
            event_id=f"vote-{i}",
            timestamp=when,
            received_at=when,
            type=kind,
            rating=rating,
            request_id=f"req-{i}",
        )
    # rag-config: 40 days old, never evaluated -> listed as unused on the dashboard
    Flag.objects.filter(key="rag-config").update(created_at=now - timedelta(days=40))
    return expected


def _no_sideways_scroll(page: Any, name: str) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    wide = page.evaluate(
        "[...document.querySelectorAll('body *')].filter(e => "
        "e.getBoundingClientRect().right > 391).map(e => e.tagName + '.' + e.className)"
        ".slice(0, 5)"
    )
    assert width <= 390, f"{name} is {width}px wide: {wide}"


def test_the_usage_tab_and_dashboard_show_the_seeded_numbers(
    page: Any,
    browser: Any,
    site: str,  # noqa: F811
) -> None:
    from playwright.sync_api import expect

    expected = _seed(site)
    login(page, site, "admin", DEMO_PASSWORD)
    page.goto(f"{site}/flags/{FLAG}/")
    page.get_by_role("link", name="Usage & outcomes").click()
    page.wait_for_url(f"**/flags/{FLAG}/usage/")
    for variant in ("v1.3", "v2.0"):
        expect(page.locator(f'[data-usage="development:{variant}"]')).to_have_text(
            str(expected[variant])
        )
    expect(page.locator('[data-total="development"]')).to_have_text(str(sum(expected.values())))
    expect(page.locator('[data-last="development"] time')).to_be_visible()
    expect(page.locator('[data-last="staging"]')).to_have_text("never")
    expect(page.locator('[data-env="development"] svg.usage-chart rect').first).to_be_visible()
    outcomes = {
        "v1.3:thumbs_up_rate": "75.0 %",
        "v1.3:mean_rating": "4.50",
        "v1.3:error_rate": "25.0 %",
        "v1.3:p95_latency_ms": "400 ms",
        "v2.0:thumbs_up_rate": "50.0 %",
        "v2.0:mean_rating": "2.00",
        "v2.0:error_rate": "0.0 %",
        "v2.0:p95_latency_ms": "600 ms",
        "v1.3:cost_per_call": "—",
    }
    for key, text in outcomes.items():
        expect(page.locator(f'[data-outcome="{key}"]')).to_contain_text(text)
    # The period selector: 24 h still holds everything seeded
    page.select_option("#id_period", "24h")
    page.get_by_role("button", name="Show").click()
    page.wait_for_url("**period=24h**")
    expect(page.locator('[data-usage="development:v2.0"]')).to_have_text(str(expected["v2.0"]))
    screenshot(page, "flag-usage-1280")

    page.goto(site + "/")
    expect(page.locator('[data-unused="rag-config"]')).to_be_visible()
    expect(page.locator(f'[data-unused="{FLAG}"]')).to_have_count(0)
    expect(page.locator(f'[data-last-evaluated="{FLAG}"]')).to_contain_text("evaluated")
    expect(page.locator('[data-last-evaluated="rag-config"]')).to_have_text(
        "not evaluated recently"
    )
    screenshot(page, "dashboard-usage-1280")

    phone = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=1)
    small = phone.new_page()
    try:
        login(small, site, "admin", DEMO_PASSWORD)
        for name, path in [("flag-usage", f"/flags/{FLAG}/usage/"), ("dashboard-usage", "/")]:
            small.goto(site + path)
            expect(small.locator("h1").first).to_be_visible()
            screenshot(small, f"{name}-390")
            _no_sideways_scroll(small, name)
    finally:
        phone.close()
