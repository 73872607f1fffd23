"""Rendering every UI page shares: the user's access in the context, htmx partials."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django_htmx.middleware import HtmxDetails

from flags.policy import access_for


class HtmxHttpRequest(HttpRequest):
    """A request that went through django-htmx's middleware (settings.MIDDLEWARE): views that
    read `request.htmx` annotate their request with this."""

    htmx: HtmxDetails


def page(
    request: HttpRequest,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    partial: str | None = None,
    status: int = 200,
) -> HttpResponse:
    """Render a page, or only `partial` when htmx asked (the partial is included by the page)."""
    ctx = {"access": access_for(request.user), **(context or {})}
    name = partial if partial and getattr(request, "htmx", False) else template
    return render(request, name, ctx, status=status)


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """handler403: Django's own renders 403.html without `access`, so the header called every
    refused user a viewer. Rendered like every page, with the refusal's message."""
    return page(request, "403.html", {"exception": str(exception or "")}, status=403)
