"""Helpers for the issue-11 flow tests: a phone-sized page, layout checks done in the browser."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from tests.browser import login

PHONE = {"width": 390, "height": 844}


@contextmanager
def phone_page(browser: Any, base_url: str, username: str, password: str) -> Iterator[Any]:
    """A logged-in page 390 px wide (a phone), closed afterwards."""
    context = browser.new_context(viewport=PHONE, device_scale_factor=1)
    context.set_default_timeout(10_000)
    page = context.new_page()
    try:
        login(page, base_url, username, password)
        yield page
    finally:
        context.close()


def assert_no_sideways_scroll(page: Any) -> None:
    """The page fits the viewport's width; names the widest offenders when it does not."""
    width, inner = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    wide = page.evaluate(
        "[...document.querySelectorAll('body *')].filter(e => "
        "e.getBoundingClientRect().right > window.innerWidth + 1)"
        ".map(e => e.tagName + '#' + e.id + '.' + e.className).slice(0, 6)"
    )
    assert width <= inner, f"the page is {width}px wide in a {inner}px viewport: {wide}"


def assert_fits(page: Any, selector: str) -> None:
    """The element shows all its content without scrolling sideways, and so does the page."""
    wide, inner = page.evaluate(
        f"[document.querySelector('{selector}').scrollWidth,"
        f" document.querySelector('{selector}').clientWidth]"
    )
    assert wide <= inner, f"{selector} is {wide}px wide in {inner}px"
    assert_no_sideways_scroll(page)


def assert_inside_viewport(locator: Any) -> None:
    """The element's box lies wholly inside the viewport's width (not clipped left or right)."""
    box = locator.bounding_box()
    assert box is not None, "the element is not rendered"
    inner = locator.page.evaluate("window.innerWidth")
    assert box["x"] >= 0, f"clipped at the left edge: x={box['x']}"
    assert box["x"] + box["width"] <= inner, f"clipped at the right edge: {box} in {inner}px"


LONG_COMMENT = (
    (
        "The answer cited a paper that does not exist and then formatted the references as one "
        "enormous line with no breaks: "
    )
    + "https://example.com/"
    + "a" * 120
)


def inbox_seed(environment_id: int) -> None:
    """Three LLM calls and three votes (thumbs down "hallucination" with a long unbroken comment,
    thumbs down without a reason, thumbs up), with long conversation ids: the feedback inbox's
    rows, charts and layout have something to show."""
    from feedback.ingest import events_ingest, feedback_ingest
    from tests.feedback.conftest import llm_call

    events_ingest(
        environment_id=environment_id,
        events=[
            llm_call(
                f"call-{i}",
                request_id=f"req-{i}",
                conversation_id=f"conversation-with-a-long-identifier-{i}",
                flags={"llm-model": "gpt-4-turbo", "prompt-version": "v2.0"},
            )
            for i in range(3)
        ],
    )
    for i, (kind, category) in enumerate(
        [("thumbs_down", "hallucination"), ("thumbs_down", ""), ("thumbs_up", "")]
    ):
        feedback_ingest(
            environment_id=environment_id,
            payload={
                "id": f"fb-{i}",
                "type": kind,
                "request_id": f"req-{i}",
                "conversation_id": f"conversation-with-a-long-identifier-{i}",
                "user_key": f"user-{i}@example.com",
                **({"category": category} if category else {}),
                **({"comment": LONG_COMMENT} if i == 0 else {}),
            },
        )
