"""Every page of the UI runs under the production Content-Security-Policy without a violation.

The shared `page` fixture (tests/browser.py) fails any browser test whose pages violate the
policy; this test walks every page once, and checks that the fixture really catches violations.
"""

from __future__ import annotations

import urllib.request
from typing import Any

import pytest

from flagsite.security import DEFAULT_POLICY
from tests.browser import login
from tests.e2e.ui_support import DEMO_PASSWORD, site  # noqa: F401

pytestmark = pytest.mark.e2e

PAGES = [
    "/",
    "/?status=stale",
    "/flags/new/",
    "/flags/llm-model/",
    "/flags/llm-model/?env=production&mode=json",
    "/flags/llm-model/settings/",
    "/flags/llm-model/history/",
    "/flags/llm-model/activity/",
    "/flags/llm-model/compare/",
    "/flags/rag-config/copy/?from=staging&to=production",
    '/flags/llm-model/try/?environment=development&context={"key":"alice"}',
    "/segments/",
    "/segments/new/",
    "/segments/internal-users/",
    "/environments/",
    "/audit/",
    "/imports/unleash/",
    "/users/",
    "/feedback/",
    "/costs/prices/",
    "/costs/?period=7d&group=model",
    "/costs/budgets/",
    "/feedback/demo/",
    "/api/docs/",
    "/django-admin/",
    "/django-admin/flags/flag/",
]


def test_the_live_server_sends_the_production_policy(site: str) -> None:  # noqa: F811
    with urllib.request.urlopen(site + "/login/", timeout=10) as response:
        assert response.headers["Content-Security-Policy"] == DEFAULT_POLICY
        assert "'unsafe-inline'" not in DEFAULT_POLICY and "'unsafe-eval'" not in DEFAULT_POLICY


def test_every_page_passes_the_policy(page: Any, site: str) -> None:  # noqa: F811
    page.goto(site + "/login/")
    login(page, site, "admin", DEMO_PASSWORD)
    for path in PAGES:
        response = page.goto(site + path)
        assert response is not None and response.status == 200, path
        page.wait_for_load_state("load")
    # The API docs page really ran its (separate) start-up script under the policy.
    page.goto(site + "/api/docs/")
    page.locator(".swagger-ui .information-container").wait_for()
    # The widget demo page mounted the widget with its stylesheet.
    page.goto(site + "/feedback/demo/")
    page.get_by_role("button", name="Helpful", exact=True).first.wait_for()
    radius = page.get_by_role("button", name="Helpful", exact=True).first.evaluate(
        "el => getComputedStyle(el).borderTopLeftRadius"
    )
    assert radius == "999px"
    assert page.csp_violations == []


def test_a_violation_fails_the_test(page: Any, site: str) -> None:  # noqa: F811
    # Given a page of ours with an inline script and an inline event handler (both refused)
    page.goto(site + "/login/")
    page.evaluate(
        """() => {
          const s = document.createElement("script");
          s.textContent = "window.ran = 1";
          document.body.appendChild(s);
          const b = document.createElement("button");
          b.setAttribute("onclick", "window.clicked = 1");
          document.body.appendChild(b);
          b.click();
        }"""
    )
    # Then the fixture has recorded them (and would fail the test at teardown).
    page.get_by_role("button").last.wait_for(state="attached")
    assert page.evaluate("window.ran") is None and page.evaluate("window.clicked") is None
    assert len(page.csp_violations) >= 2, page.csp_violations
    assert any("script-src" in v for v in page.csp_violations)
    page.csp_violations.clear()  # this test's violations are its subject
