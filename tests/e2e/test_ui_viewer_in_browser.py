"""A viewer reads everything and can change nothing: no controls, and forged posts get 403."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser import login
from tests.e2e.ui_support import DEMO_PASSWORD, site  # noqa: F401

pytestmark = pytest.mark.e2e


def test_a_viewer_cannot_toggle(page: Any, site: str) -> None:  # noqa: F811
    from flags.models import FlagConfig

    login(page, site, "viewer", DEMO_PASSWORD)
    assert page.locator("#flag-llm-model").is_visible()
    assert page.locator("[role=switch]").count() == 0
    assert page.locator("text=New flag").count() == 0
    page.goto(site + "/flags/llm-model/")
    assert page.locator("#rules-form").count() == 0 and page.locator("#save").count() == 0

    csrf = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    forged = page.request.post(
        site + "/flags/llm-model/env/development/toggle/",
        form={"enabled": "false"},
        headers={"X-CSRFToken": csrf, "HX-Request": "true", "Referer": site + "/"},
    )
    assert forged.status == 403
    assert FlagConfig.objects.get(flag__key="llm-model", environment__key="development").enabled
