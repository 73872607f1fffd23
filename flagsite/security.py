"""Content-Security-Policy for every response (Django 5.2 has none built in).

The UI runs with no inline script, no inline event handler and no inline style (htmx attributes
are markup, not script): scripts and styles come from our own static files. So the policy can
be strict: `script-src 'self'`, `style-src 'self'`. A view that needs another policy sets the
header itself; the middleware only fills it in when it is missing. See docs/security.md.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from django.conf import settings

if TYPE_CHECKING:  # settings.py imports DEFAULT_POLICY from here: keep this module light
    from django.http import HttpRequest, HttpResponse

DEFAULT_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        policy = settings.FLAGSITE_CSP
        if not policy:
            return response
        if settings.DEBUG and response.status_code >= 400:
            # Django's technical 404/500 pages (DEBUG only) are built with inline script/style.
            return response
        header = (
            "Content-Security-Policy-Report-Only"
            if settings.FLAGSITE_CSP_REPORT_ONLY
            else "Content-Security-Policy"
        )
        if "Content-Security-Policy" not in response and header not in response:
            response[header] = policy
        return response
