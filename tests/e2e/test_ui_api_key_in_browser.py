"""Creating an API key: post/redirect/get, the secret shown once; a reload neither creates a
second key nor shows the secret again (issue 11)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser import login, screenshot
from tests.e2e.flows_support import assert_no_sideways_scroll, phone_page
from tests.e2e.ui_support import DEMO_PASSWORD, site  # noqa: F401

pytestmark = pytest.mark.e2e


def _create_key(page: Any, name: str) -> None:
    page.get_by_text("+ New API key").click()
    form = page.locator("form[action='/keys/new/']")
    form.locator("select[name=environment]").select_option("staging")
    form.locator("select[name=kind]").select_option("server")
    form.locator("input[name=name]").fill(name)
    form.get_by_role("button", name="Create key").click()


def test_a_new_key_is_shown_once_and_a_reload_makes_no_second(page: Any, site: str) -> None:  # noqa: F811
    from playwright.sync_api import expect

    from delivery.models import ApiKey

    login(page, site, "admin", DEMO_PASSWORD)
    page.goto(site + "/environments/")
    before = ApiKey.objects.count()
    _create_key(page, "batch jobs")

    page.wait_for_url(f"{site}/environments/")  # redirected: the address is a GET's
    raw = page.locator("#raw-key").input_value()
    key = ApiKey.objects.get(name="batch jobs")
    assert raw.startswith("fs_srv_") and ApiKey.hash_key(raw) == key.key_hash
    expect(page.locator("#new-key-title")).to_contain_text("New server key for Staging")
    screenshot(page, "keys-new-secret-1280")

    page.reload()
    expect(page.locator("h1")).to_have_text("Environments & API keys")
    expect(page.locator("#raw-key")).to_have_count(0)
    assert raw not in page.content()
    assert ApiKey.objects.count() == before + 1

    page.go_back()  # history has no POST to resubmit either
    expect(page.locator("#raw-key")).to_have_count(0)
    assert ApiKey.objects.count() == before + 1


def test_the_keys_page_fits_a_phone_with_a_new_key(browser: Any, site: str) -> None:  # noqa: F811
    with phone_page(browser, site, "admin", DEMO_PASSWORD) as page:
        page.goto(site + "/environments/")
        _create_key(page, "phone key")
        page.locator("#raw-key").wait_for()
        assert_no_sideways_scroll(page)
        screenshot(page, "keys-new-secret-390")
