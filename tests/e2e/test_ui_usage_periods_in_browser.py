"""The numbers the usage tab and the dashboard show, per period and environment, against seeded
events of known counts and ages (issue 11: the new views are checked by the numbers they show).

test_ui_usage_in_browser.py covers the last 24 hours in development (real evaluate calls);
this file covers what it leaves out: the 7 and 30 day periods leaving older events out, the
chart's bars adding up, another environment, cost per call and the `n=` counts, and the
dashboard's unused-flag window when FLAGSITE_STALE_EVALUATION_DAYS changes."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest

from tests.browser import login
from tests.e2e.ui_support import DEMO_PASSWORD, site  # noqa: F401

pytestmark = pytest.mark.e2e

FLAG = "prompt-version"
# Exposures in staging: (age, variant, how many)
EXPOSURES = [
    (timedelta(minutes=30), "v1.3", 2),
    (timedelta(days=3), "v2.0", 3),
    (timedelta(days=20), "v1.3", 4),
    (timedelta(days=40), "v2.0", 5),
]
EXPECTED = {  # period -> evaluations per variant (older exposures are left out)
    "24h": {"v1.3": 2, "v2.0": 0},
    "7d": {"v1.3": 2, "v2.0": 3},
    "30d": {"v1.3": 6, "v2.0": 3},
}


def _seed() -> None:
    """Staging: the exposures above; LLM calls with token counts of priced models (gpt-4:
    $30 / $60 per million tokens, gpt-4-turbo: $10 / $30, the demo prices) and one model
    without a price; two votes. new-rag-pipeline: 50 days old, last evaluated 20 days ago."""
    from django.utils import timezone

    from feedback.ingest import events_ingest, feedback_ingest
    from feedback.models import Exposure
    from flags.models import Environment, Flag

    staging = Environment.objects.get(key="staging")
    now = timezone.now()
    n = 0
    for age, variant, count in EXPOSURES:
        for _ in range(count):
            n += 1
            Exposure.objects.create(
                environment=staging,
                event_id=f"exp-{n}",
                timestamp=now - age,
                received_at=now - age,
                flag_key=FLAG,
                variant_key=variant,
                user_key=f"user-{n}",
            )
    calls = [  # (age, request, variant, model, prompt, completion, latency, error)
        (timedelta(minutes=10), "r1", "v1.3", "gpt-4", 1000, 500, 200, False),  # $0.06
        (timedelta(minutes=10), "r2", "v2.0", "gpt-4-turbo", 1000, 500, 300, False),  # $0.025
        (timedelta(minutes=10), "r3", "v2.0", "local-llama", 1000, 500, 700, True),  # no price
        (timedelta(days=3), "r4", "v1.3", "gpt-4", 2000, 1000, 900, True),  # $0.12
    ]
    for age, request, variant, model, prompt, completion, latency, error in calls:
        result = events_ingest(
            environment_id=staging.pk,
            now=now - age,
            events=[
                {
                    "id": f"call-{request}",
                    "type": "llm_call",
                    "request_id": request,
                    "model": model,
                    "prompt_tokens": prompt,
                    "completion_tokens": completion,
                    "latency_ms": latency,
                    "error": error,
                    "flags": {FLAG: variant},
                }
            ],
        )
        assert not result.rejected, result.rejected
    for age, request, kind in [
        (timedelta(minutes=5), "r1", "thumbs_up"),
        (timedelta(days=3), "r4", "thumbs_down"),
    ]:
        feedback_ingest(
            environment_id=staging.pk,
            now=now - age,
            payload={"id": f"vote-{request}", "type": kind, "request_id": request},
        )
    Flag.objects.filter(key="new-rag-pipeline").update(created_at=now - timedelta(days=50))
    Exposure.objects.create(
        environment=staging,
        event_id="exp-pipeline",
        timestamp=now - timedelta(days=20),
        received_at=now - timedelta(days=20),
        flag_key="new-rag-pipeline",
        variant_key="on",
        user_key="someone",
    )


def _bar_totals(page: Any) -> dict[str, int]:
    """Sum the staging chart's bars per variant, from each bar segment's <title> ("… · v: n")."""
    totals: dict[str, int] = {}
    for text in page.locator('[data-env="staging"] svg.usage-chart rect title').all_text_contents():
        match = re.search(r"· (\S+): (\d+)$", text.strip())
        assert match, text
        totals[match[1]] = totals.get(match[1], 0) + int(match[2])
    return {k: v for k, v in totals.items() if v}


def test_each_period_counts_only_its_events_and_the_outcomes_follow(page: Any, site: str) -> None:  # noqa: F811
    from playwright.sync_api import expect

    _seed()
    login(page, site, "viewer", DEMO_PASSWORD)
    for period, expected in EXPECTED.items():
        page.goto(f"{site}/flags/{FLAG}/usage/?period={period}&env=staging")
        for variant, count in expected.items():
            expect(page.locator(f'[data-usage="staging:{variant}"]')).to_have_text(str(count))
        expect(page.locator('[data-total="staging"]')).to_have_text(str(sum(expected.values())))
        assert _bar_totals(page) == {v: c for v, c in expected.items() if c}, period
        expect(page.locator('[data-total="development"]')).to_have_text("0")
        expect(page.locator('[data-last="development"]')).to_have_text("never")
        expect(page.locator('[data-last="staging"]')).to_contain_text("30 minutes ago")

    def outcome(variant: str, metric: str) -> Any:
        return page.locator(f'[data-outcome="{variant}:{metric}"]')

    # Last 24 hours: r1 (v1.3), r2 and r3 (v2.0); r3's model has no price
    page.goto(f"{site}/flags/{FLAG}/usage/?period=24h&env=staging")
    expect(outcome("v1.3", "cost_per_call")).to_have_text("$0.0600 n=1")
    expect(outcome("v2.0", "cost_per_call")).to_have_text("$0.0250 n=1")
    expect(outcome("v1.3", "error_rate")).to_have_text("0.0 % n=1")
    expect(outcome("v2.0", "error_rate")).to_have_text("50.0 % n=2")
    expect(outcome("v1.3", "p95_latency_ms")).to_have_text("200 ms n=1")
    expect(outcome("v1.3", "thumbs_up_rate")).to_have_text("100.0 % n=1")
    expect(outcome("v2.0", "thumbs_up_rate")).to_have_text("—")
    # Last 7 days adds r4 (v1.3, 3 days old): $0.12, an error and a thumbs down
    page.goto(f"{site}/flags/{FLAG}/usage/?period=7d&env=staging")
    expect(outcome("v1.3", "cost_per_call")).to_have_text("$0.0900 n=2")
    expect(outcome("v1.3", "error_rate")).to_have_text("50.0 % n=2")
    expect(outcome("v1.3", "thumbs_up_rate")).to_have_text("50.0 % n=2")
    # Development has none of these events
    page.goto(f"{site}/flags/{FLAG}/usage/?period=7d&env=development")
    expect(outcome("v1.3", "cost_per_call")).to_have_text("—")


def test_the_dashboard_lists_unused_flags_for_the_configured_window(
    page: Any,
    site: str,  # noqa: F811
    settings: Any,
) -> None:
    from playwright.sync_api import expect

    _seed()
    login(page, site, "viewer", DEMO_PASSWORD)
    page.goto(site + "/")
    # 30 days (the default): evaluated 20 days ago is recent enough
    expect(page.locator("#unused-title")).to_have_text("Not evaluated for 30 days")
    expect(page.locator('[data-unused="new-rag-pipeline"]')).to_have_count(0)
    expect(page.locator('[data-last-evaluated="new-rag-pipeline"]')).to_contain_text(
        "evaluated 2 weeks, 6 days ago"
    )
    expect(page.locator(f'[data-last-evaluated="{FLAG}"]')).to_contain_text("30 minutes ago")
    # 10 days: it is unused now, and prompt-version (evaluated 30 minutes ago) still is not
    settings.FLAGSITE_STALE_EVALUATION_DAYS = 10
    page.reload()
    expect(page.locator("#unused-title")).to_have_text("Not evaluated for 10 days")
    expect(page.locator('[data-unused="new-rag-pipeline"]')).to_be_visible()
    expect(page.locator(f'[data-unused="{FLAG}"]')).to_have_count(0)
    expect(page.locator('[data-last-evaluated="new-rag-pipeline"]')).to_have_text(
        "not evaluated recently"
    )
