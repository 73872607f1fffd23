"""The flag page's "How to use it" snippets (the curl one is run against the live server), and
owner / lifecycle: bulk archive from the dashboard, deactivating a user, in Chromium."""

from __future__ import annotations

import json
import shlex
import urllib.request
from typing import Any

import pytest

from flags.demo import DEMO_CLIENT_KEY
from tests.browser import login
from tests.e2e.ui_support import DEMO_PASSWORD, site  # noqa: F401

pytestmark = pytest.mark.e2e


def _run_curl(text: str, key: str) -> dict[str, Any]:
    words = shlex.split(text.replace("\\\n", " "))
    headers = dict(words[i + 1].split(": ", 1) for i, w in enumerate(words) if w == "-H")
    headers["Authorization"] = f"Bearer {key}"
    body = words[words.index("-d") + 1].encode()
    request = urllib.request.Request(words[3], data=body, headers=headers, method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        return dict(json.load(response))


def test_snippets_follow_the_environment_and_the_curl_one_works(page: Any, site: str) -> None:  # noqa: F811
    from playwright.sync_api import expect

    login(page, site, "viewer", DEMO_PASSWORD)
    page.goto(site + "/flags/new-rag-pipeline/?env=development")
    section = page.locator("#usage-snippets")
    expect(section.locator("[data-snippets-env]")).to_have_text("Development")
    expect(section.locator("[data-snippets-kind]")).to_have_text("boolean")
    python = section.locator("[data-snippet=python]").inner_text()
    compile(python, "snippet", "exec")
    assert "bool_variation('new-rag-pipeline', {'key': user_id}, False)" in python
    answer = _run_curl(section.locator("[data-snippet=curl]").inner_text(), DEMO_CLIENT_KEY)
    assert answer["key"] == "new-rag-pipeline" and isinstance(answer["value"], bool)
    page.locator(".env-tabs [role=tab]", has_text="Production").click()
    expect(section.locator("[data-snippets-env]")).to_have_text("Production")


def test_bulk_archive_and_owner_on_the_dashboard(page: Any, site: str) -> None:  # noqa: F811
    from playwright.sync_api import expect

    from flags.models import Flag

    login(page, site, "admin", DEMO_PASSWORD)
    keys = list(Flag.objects.order_by("key").values_list("key", flat=True)[:2])
    for key in keys:
        page.locator(f"#flag-{key} input.bulk-check").check()
    page.select_option("#bulk-action", "archive")
    page.fill("#bulk-comment", "retired")  # production exists: a comment is required
    page.click("#bulk-apply")
    for key in keys:  # archived flags leave the default list
        expect(page.locator(f"#flag-{key}")).to_have_count(0)
    page.goto(site + "/?status=archived")
    for key in keys:
        expect(page.locator(f"#flag-{key} .badge", has_text="archived")).to_be_visible()
    assert set(Flag.objects.filter(key__in=keys).values_list("lifecycle", flat=True)) == {
        "archived"
    }
    expect(page.locator(f"#flag-{keys[0]} [data-owner]")).to_be_visible()


def test_an_admin_deactivates_a_user(page: Any, site: str) -> None:  # noqa: F811
    from django.contrib.auth import get_user_model
    from playwright.sync_api import expect

    login(page, site, "admin", DEMO_PASSWORD)
    page.goto(site + "/users/")
    editor = get_user_model().objects.get(username="editor")
    cell = page.locator(f"#user-status-{editor.pk}")
    cell.get_by_role("button", name="Deactivate").click()
    expect(page.locator(f"#user-status-{editor.pk}")).to_contain_text("deactivated")
    page.click("text=Log out")
    page.wait_for_url("**/login/")
    login_page = page
    login_page.fill("input[name=username]", "editor")
    login_page.fill("input[name=password]", DEMO_PASSWORD)
    login_page.click("button[type=submit]")
    expect(login_page.locator(".alert-error")).to_be_visible()
