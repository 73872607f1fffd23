"""The feedback widget in headless Chromium against a live server: thumbs down with a category
and comment lands in the database; keyboard use; cross-origin use with an offline retry that
does not double count."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from feedback.models import Feedback
from tests.browser import login, screenshot
from tests.feedback.conftest import Keys, keys_create, process_state_reset

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _wait_for(predicate: Any, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


@pytest.fixture
def keys(transactional_db: Any) -> Iterator[Keys]:
    process_state_reset()
    yield keys_create()
    process_state_reset()


def _open_demo(page: Any, live_server: Any, user: Any, keys: Keys) -> None:
    login(page, live_server.url, user.username, f"pw-{user.username}")
    page.goto(f"{live_server.url}/feedback/demo/?key={keys.client}")


def test_thumbs_down_with_a_category_is_stored(
    page: Any, live_server: Any, editor_user: Any, keys: Keys
) -> None:
    _open_demo(page, live_server, editor_user, keys)
    answer = page.get_by_test_id("answer-2")
    # Given the second answer's widget, when I click thumbs down...
    answer.get_by_role("button", name="Not helpful").click()
    # ...the details form opens with focus on the first category.
    assert answer.get_by_role("button", name="Not helpful").get_attribute("aria-expanded") == "true"
    answer.get_by_label("Made something up").check()
    answer.get_by_label("Comment (optional)").fill("There is no page 42.")
    screenshot(page, "feedback-widget-form")
    answer.get_by_role("button", name="Send feedback").click()
    # Then the widget thanks me and the row exists.
    answer.get_by_text("Thanks for your feedback!").wait_for()
    assert answer.get_by_role("button", name="Not helpful").get_attribute("aria-pressed") == "true"
    assert (
        answer.get_by_role("button", name="Helpful", exact=True).get_attribute("aria-pressed")
        == "false"
    )
    row = Feedback.objects.get(request_id="demo-request-2")
    assert (row.type, row.category, row.comment) == (
        "thumbs_down",
        "hallucination",
        "There is no page 42.",
    )
    assert (row.conversation_id, row.user_key, row.environment_id) == (
        "demo-conversation-1",
        "eddie",
        keys.environment.pk,
    )
    screenshot(page, "feedback-widget-thumbs-down")


def test_the_widget_works_from_the_keyboard(
    page: Any, live_server: Any, viewer_user: Any, keys: Keys
) -> None:
    _open_demo(page, live_server, viewer_user, keys)
    answer = page.get_by_test_id("answer-1")
    answer.get_by_role("button", name="Not helpful").focus()
    page.keyboard.press("Enter")
    focused = page.evaluate("document.activeElement.value")
    assert focused == "hallucination"
    page.keyboard.press("ArrowDown")  # moves to and checks "Not relevant"
    page.keyboard.press("Tab")
    page.keyboard.type("Off topic")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")  # "Send feedback"
    answer.get_by_text("Thanks for your feedback!").wait_for()
    assert page.evaluate("document.activeElement.getAttribute('aria-pressed')") == "true"
    row = Feedback.objects.get(request_id="demo-request-1")
    assert (row.category, row.comment) == ("irrelevant", "Off topic")


@pytest.fixture
def host_page() -> Iterator[Callable[..., str]]:
    """Serve one HTML page from http://127.0.0.1:<port>/ (flagsite runs on localhost: another
    origin, so the widget's requests are cross-origin with a CORS preflight)."""
    pages: list[tuple[bytes, str]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body, csp = pages[-1]
            self.send_response(200)
            if csp:
                self.send_header("Content-Security-Policy", csp)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()

    def serve(html: str, csp: str = "") -> str:
        pages.append((html.encode(), csp))
        return f"http://127.0.0.1:{server.server_address[1]}/"

    yield serve
    server.shutdown()
    server.server_close()


HOST_PAGE = """<!doctype html><html lang="en"><head><title>Acme chat</title>
<style>:root {{ --fs-feedback-accent: rgb(255, 0, 0); }}</style></head><body>
<p>Assistant: the answer is 42.</p>
<script src="{server}/feedback/widget.js" data-key="{key}" data-conversation="acme-conv"
        data-request="acme-req" data-user="acme-user"></script>
</body></html>"""


def test_cross_origin_offline_retry_stores_the_vote_once(
    page: Any, live_server: Any, keys: Keys, host_page: Any
) -> None:
    # Given a customer's page on another origin (a server of its own)...
    html = HOST_PAGE.format(server=live_server.url, key=keys.client)
    page.goto(host_page(html))
    up = page.get_by_role("button", name="Helpful", exact=True)
    # ...when the user votes while offline,
    page.context.set_offline(True)
    up.click()
    page.get_by_text("your feedback will be sent when you're back").wait_for()
    assert up.get_attribute("aria-pressed") == "true"
    assert not Feedback.objects.exists()
    queued = page.evaluate("JSON.parse(localStorage.getItem('flagsite-feedback:queue'))")
    assert len(queued) == 1
    # then it is sent (CORS preflight included) once the browser is back online.
    page.context.set_offline(False)
    page.get_by_text("Thanks for your feedback!").wait_for()
    assert _wait_for(lambda: Feedback.objects.filter(request_id="acme-req").exists())
    row = Feedback.objects.get()
    assert (row.type, row.user_key) == ("thumbs_up", "acme-user")
    assert page.evaluate("localStorage.getItem('flagsite-feedback:queue')") == "[]"
    # The host page styles the widget through a custom property.
    color = up.evaluate("el => getComputedStyle(el).color")
    assert color == "rgb(255, 0, 0)"
    # The vote's id is stable: a resend (say the first answer was lost) is a duplicate.
    vote = page.evaluate(
        "JSON.parse(localStorage.getItem('flagsite-feedback:vote:acme-conv|acme-req'))"
    )
    assert vote["ids"]["thumbs_up"] == row.event_id
    status = page.evaluate(
        """async ([url, key, id]) => (await fetch(url, {method: "POST", body: JSON.stringify(
             {id: id, type: "thumbs_up"}), headers: {"Content-Type": "application/json",
             Authorization: "Bearer " + key}})).status""",
        [f"{live_server.url}/api/v1/feedback", keys.client, row.event_id],
    )
    assert status == 200
    page.reload()
    page.get_by_role("button", name="Helpful", exact=True).click()
    page.get_by_text("we already have your vote").wait_for()
    assert Feedback.objects.count() == 1
    screenshot(page, "feedback-widget-cross-origin")


def test_an_outage_503_is_retried_after_retry_after_and_stored_once(
    page: Any, live_server: Any, keys: Keys, host_page: Any
) -> None:
    # Given the server answering the first vote as it does while its database is unreachable
    # (JSON 503 + Retry-After, CORS headers included: tests/flagsite/test_outage.py)...
    seen: list[float] = []

    def outage_once(route: Any) -> None:
        if route.request.method != "POST":
            route.continue_()
            return
        seen.append(time.monotonic())
        if len(seen) > 1:
            route.continue_()
            return
        route.fulfill(
            status=503,
            headers={
                "Content-Type": "application/json",
                "Retry-After": "2",
                "Access-Control-Allow-Origin": "*",
                "Access-Control-Expose-Headers": "Retry-After",
            },
            body='{"error": {"code": "unavailable", "message": "try again shortly"}}',
        )

    page.route(f"{live_server.url}/api/v1/feedback", outage_once)
    page.goto(host_page(HOST_PAGE.format(server=live_server.url, key=keys.client)))
    # ...when the user votes, the widget keeps the vote and tells them it will be sent,
    page.get_by_role("button", name="Helpful", exact=True).click()
    page.get_by_text("your feedback will be sent when you're back").wait_for()
    # then sends it again no sooner than Retry-After says, and it is stored once.
    page.get_by_text("Thanks for your feedback!").wait_for(timeout=15_000)
    assert _wait_for(lambda: Feedback.objects.filter(request_id="acme-req").exists())
    assert len(seen) == 2 and seen[1] - seen[0] >= 1.9
    assert Feedback.objects.count() == 1
    assert page.evaluate("localStorage.getItem('flagsite-feedback:queue')") == "[]"


STRICT_HOST_PAGE = """<!doctype html><html lang="en"><head><title>Strict chat</title></head><body>
<p>Assistant: the answer is 42.</p>
<script src="{server}/feedback/widget.js" data-key="{key}" data-conversation="strict-conv"
        data-request="strict-req"></script>
</body></html>"""


def test_the_widget_works_under_the_documented_host_csp(
    page: Any, live_server: Any, keys: Keys, host_page: Any
) -> None:
    # Given a customer's page whose Content-Security-Policy allows only what docs/security.md
    # lists for the widget: script, style and connect to the flagsite origin, nothing inline
    origin = live_server.url
    csp = f"default-src 'none'; script-src {origin}; style-src {origin}; connect-src {origin}"
    page.goto(host_page(STRICT_HOST_PAGE.format(server=origin, key=keys.client), csp=csp))
    up = page.get_by_role("button", name="Helpful", exact=True)
    # When the user votes
    up.click()
    page.get_by_text("Thanks for your feedback!").wait_for()
    # Then the vote is stored, the widget has its default styles (from widget.css), and the page
    # saw no violation (the page fixture fails the test on any).
    assert _wait_for(lambda: Feedback.objects.filter(request_id="strict-req").exists())
    assert up.evaluate("el => getComputedStyle(el).borderTopLeftRadius") == "6px"
    assert page.csp_violations == []
