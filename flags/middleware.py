"""Tell the person who made a change when its ruleset could not be put in the shared cache."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.utils.html import format_html

from .publish_commit import publish_report


class PublishReportMiddleware:
    """Collects the outcome of the publishes a request runs. The management API puts it in its
    answer (flags.api.access.ManagementView); pages get a warning: a message on the next page
    after a redirect, or an out-of-band toast in an htmx fragment."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        with publish_report() as report:
            response = self.get_response(request)
        if not report.pending or request.path.startswith(("/api/", "/ofrep/")):
            return response
        text = f"{', '.join(report.pending)}: {report.message}"
        content_type = response.get("Content-Type", "")
        htmx = getattr(request, "htmx", False)
        if htmx and content_type.startswith("text/html") and not response.streaming:
            toast = format_html(
                '<div id="messages" hx-swap-oob="beforeend">'
                '<div class="toast toast-warning">{}</div></div>',
                text,
            )
            response.content = response.content + toast.encode()
        elif hasattr(request, "_messages"):
            messages.warning(request, text)
        return response
