"""A canary in the browser: start it from the flag page, report failing LLM calls with the
Python SDK, and see the plan rolled back with its alert on the page."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser import login, screenshot
from tests.e2e.ui_support import DEMO_PASSWORD, evaluate_api, site  # noqa: F401

pytestmark = pytest.mark.e2e


@pytest.fixture
def worker_stand_in(monkeypatch: Any) -> Iterator[None]:
    """No worker in this test (the real one is tests/releases/test_rollback_latency.py): the
    check queued after ingestion runs in a thread of this process after the same countdown."""
    from django.db import connection

    from releases import tasks
    from releases.checks import rollouts_check

    timers: list[threading.Timer] = []

    def run(environment_id: int) -> None:
        try:
            rollouts_check(environment_id=environment_id)
        finally:
            connection.close()

    def apply_async(args: tuple[int], countdown: float) -> None:
        timers.append(threading.Timer(countdown, run, args))
        timers[-1].start()

    monkeypatch.setattr(tasks.rollouts_check_environment, "apply_async", apply_async)
    yield
    for timer in timers:
        timer.join()


def test_a_breaching_canary_is_rolled_back_and_the_page_says_why(
    page: Any,
    site: str,  # noqa: F811
    worker_stand_in: None,
) -> None:
    from flagsite_sdk import Client

    from flags.demo import DEMO_SERVER_KEY

    login(page, site, "admin", DEMO_PASSWORD)
    page.goto(f"{site}/flags/llm-model/rollouts/")
    # Given a canary of gpt-4 in place of gpt-4-turbo in development, started from the page
    form = page.locator("#rollout-new")
    form.locator("select[name=environment]").select_option("development")
    form.locator("select[name=variant]").select_option("gpt-4")
    form.locator("select[name=replaces]").select_option("gpt-4-turbo")
    form.get_by_role("button", name="Create plan").click()
    page.wait_for_selector(".rollout-status[data-status=running]")
    assert page.locator(".phase-current").first.inner_text().startswith("1 %")
    # When the application reports 60 failing calls served by gpt-4 through the SDK
    client = Client(site, DEMO_SERVER_KEY, start_wait=5, events_flush_interval=0.2)
    try:
        for i in range(60):
            client.track_llm_call(
                model="gpt-4", user_key=f"u{i}", error=True, flags={"llm-model": "gpt-4"}
            )
        assert client.flush(timeout=10)
    finally:
        client.close()
    # Then the plan is rolled back, and the page shows the alert naming the gate
    # (the check runs as soon as the events are stored; reload until the page shows it)
    for _ in range(20):
        page.goto(f"{site}/flags/llm-model/rollouts/")
        if page.locator(".rollout-status[data-status=rolled_back]").count():
            break
        page.wait_for_timeout(500)
    page.wait_for_selector(".rollout-status[data-status=rolled_back]")
    alert = page.locator(".rollout-alert").inner_text()
    assert "llm-model rolled back in development: error_rate" in alert
    assert "error_rate 100.00 % > threshold 5.00 % over 5 min, sample 60" in alert
    assert page.locator(".gate-breached").count() == 1
    screenshot(page, "rollout-rolled-back")
    # and the unit the canary served is back on the old variant
    assert evaluate_api(site, "llm-model", {"key": "u1"})["variant"] == "gpt-4-turbo"
