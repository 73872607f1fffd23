"""Creating a flag with JavaScript on lands on the new flag's whole page, and the form lets the
person choose what the flag serves when on and when off (issue 11)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser import login, screenshot
from tests.e2e.flows_support import assert_no_sideways_scroll, phone_page
from tests.e2e.ui_support import DEMO_PASSWORD, site  # noqa: F401

pytestmark = pytest.mark.e2e


def _assert_whole_flag_page(page: Any, site: str, key: str) -> None:  # noqa: F811
    from playwright.sync_api import expect

    assert page.url.startswith(f"{site}/flags/{key}/"), page.url
    expect(page.locator("h1")).to_have_text(key)
    # The whole page: the header's environment switches and the flag's tabs, not a fragment.
    expect(page.locator("#env-switches .env-switch")).to_have_count(3)
    tabs = page.get_by_role("navigation", name="Flag sections")
    expect(tabs.get_by_role("link", name="Targeting")).to_be_visible()
    expect(tabs.get_by_role("link", name="History")).to_be_visible()
    expect(page.locator("#targeting")).to_be_visible()


def test_creating_a_flag_lands_on_its_page(page: Any, site: str) -> None:  # noqa: F811
    from playwright.sync_api import expect

    from flags.models import FlagConfig

    login(page, site, "editor", DEMO_PASSWORD)
    page.goto(site + "/flags/new/")
    page.evaluate("window.__sameDocument = true")
    page.fill("#key", "answer-style")
    page.fill("#name", "Answer style")
    page.select_option("#id_kind", "json")
    # htmx redraws the variants for the JSON kind; then the choices name them.
    expect(page.locator("#v0-value")).to_have_js_property("tagName", "TEXTAREA")
    page.fill("#v0-key", "terse")
    page.fill("#v0-value", '{"style": "terse"}')
    page.fill("#v1-key", "chatty")
    page.fill("#v1-value", '{"style": "chatty"}')
    # The serve choices follow the keys as they are typed (static/ui/app.js).
    expect(page.locator("#default_index option[value='1']")).to_have_text("chatty")
    page.select_option("#default_index", "1")
    page.select_option("#off_index", "0")
    screenshot(page, "flag-new-1280")
    page.get_by_role("button", name="Create flag").click()

    page.wait_for_url(f"{site}/flags/answer-style/")
    _assert_whole_flag_page(page, site, "answer-style")
    expect(page.locator(".toast").first).to_contain_text("Created answer-style")
    # A full navigation, not a swap inside the old document.
    assert page.evaluate("window.__sameDocument") is None
    expect(page.locator("#targeting-status-development")).to_contain_text("everyone gets terse")
    page.reload()
    _assert_whole_flag_page(page, site, "answer-style")

    for config in FlagConfig.objects.filter(flag__key="answer-style"):
        assert (config.off_variant, config.default) == ("terse", {"variant": "chatty"})


def test_a_new_string_flag_serves_the_first_variant_unless_told(page: Any, site: str) -> None:  # noqa: F811
    from playwright.sync_api import expect

    from flags.models import FlagConfig

    login(page, site, "editor", DEMO_PASSWORD)
    page.goto(site + "/flags/new/?kind=string")
    # The choices are on the page before anything is created, pre-set to the first variant.
    expect(page.locator("#default_index option:checked")).to_have_text("control")
    expect(page.locator("#off_index option:checked")).to_have_text("control")
    page.fill("#key", "greeting")
    page.fill("#v0-value", "Hello")
    page.fill("#v1-value", "Hi there")
    page.get_by_role("button", name="Create flag").click()
    page.wait_for_url(f"{site}/flags/greeting/")
    config = FlagConfig.objects.get(flag__key="greeting", environment__key="development")
    assert (config.off_variant, config.default) == ("control", {"variant": "control"})


def test_the_new_flag_form_fits_a_phone(browser: Any, site: str) -> None:  # noqa: F811
    with phone_page(browser, site, "editor", DEMO_PASSWORD) as page:
        page.goto(site + "/flags/new/?kind=json")
        assert_no_sideways_scroll(page)
        screenshot(page, "flag-new-390")
