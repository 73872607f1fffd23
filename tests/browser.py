"""Headless Chromium (Debian's package) driven by Playwright's Python API."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.services import chromium_path

OUTPUT = Path(os.environ.get("TEST_OUTPUT_DIR", "test-output"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    path = chromium_path()
    # Playwright's sync API runs an event loop in this thread; the Django ORM calls the tests make
    # around it are still synchronous and safe.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        instance = pw.chromium.launch(executable_path=path, headless=True, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


# Every page reports Content-Security-Policy violations to Python (the binding outlives
# navigations; an init script is not subject to the page's CSP).
_REPORT_CSP = """
document.addEventListener("securitypolicyviolation", (e) => {
  window.__flagsiteCspViolation(
    [e.violatedDirective, e.blockedURI || "inline", e.sourceFile + ":" + e.lineNumber,
     e.documentURI].join(" | "));
});
"""


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh tab. The test fails if any page it shows violates its Content-Security-Policy
    (the live server sends the production policy, flagsite/security.py)."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(10_000)
    violations: list[str] = []
    context.expose_binding("__flagsiteCspViolation", lambda _source, text: violations.append(text))
    context.add_init_script(_REPORT_CSP)
    tab = context.new_page()

    def on_console(message: Any) -> None:
        if message.type == "error" and "Content Security Policy" in message.text:
            violations.append(message.text)

    tab.on("console", on_console)
    tab.csp_violations = violations
    yield tab
    context.close()
    if violations:
        pytest.fail("Content-Security-Policy violations:\n" + "\n".join(violations), False)


def screenshot(page: Any, name: str) -> Path:
    """Save a full-page screenshot under test-output/screenshots/ (kept by CI as evidence)."""
    folder = OUTPUT / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def login(page: Any, base_url: str, username: str, password: str) -> None:
    page.goto(f"{base_url}/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/login" not in url)
