"""The feedback widget's script (served by the app, so `<script src=".../feedback/widget.js">`
works from any origin) and a demo page that shows it under a fake chat transcript."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from delivery.models import ApiKey
from flagsite.rendering import page

WIDGET_DIR = Path(settings.BASE_DIR) / "static" / "feedback"
WIDGET_JS = WIDGET_DIR / "widget.js"
# The widget's default styles: a stylesheet next to the script (no inline <style>, so a host
# page's Content-Security-Policy needs no 'unsafe-inline').
WIDGET_CSS = WIDGET_DIR / "widget.css"


@cache
def _widget_source(path: Path) -> bytes:
    return path.read_bytes()


def _widget_file(path: Path, content_type: str) -> HttpResponse:
    source = path.read_bytes() if settings.DEBUG else _widget_source(path)
    response = HttpResponse(source, content_type=content_type)
    response["Cache-Control"] = "public, max-age=300"
    response["Access-Control-Allow-Origin"] = "*"
    response["Cross-Origin-Resource-Policy"] = "cross-origin"
    return response


@require_GET
def widget_js(request: HttpRequest) -> HttpResponse:
    return _widget_file(WIDGET_JS, "text/javascript; charset=utf-8")


@require_GET
def widget_css(request: HttpRequest) -> HttpResponse:
    return _widget_file(WIDGET_CSS, "text/css; charset=utf-8")


def _demo_key() -> str:
    from flags.demo import DEMO_CLIENT_KEY

    exists = ApiKey.objects.filter(
        key_hash=ApiKey.hash_key(DEMO_CLIENT_KEY), revoked_at__isnull=True
    ).exists()
    return DEMO_CLIENT_KEY if exists else ""


@login_required
@require_GET
def widget_demo(request: HttpRequest) -> HttpResponse:
    key = request.GET.get("key", "").strip() or _demo_key()
    return page(request, "feedback/demo.html", {"client_key": key})
