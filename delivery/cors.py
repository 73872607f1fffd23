"""CORS for the endpoints a browser calls with a client key: evaluate, feedback and OFREP.

Client keys are public by design (they ship in web pages) and these endpoints use no cookies, so
any origin may call them unless FLAGSITE_CORS_ALLOWED_ORIGINS lists the allowed ones. `ETag` is
exposed so browser code can send If-None-Match. Every other path gets no CORS headers at all.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_vary_headers

CORS_PATHS = ("/api/v1/evaluate", "/api/v1/feedback", "/ofrep/")
ALLOWED_HEADERS = "Authorization, Content-Type, X-API-Key, If-None-Match"
EXPOSED_HEADERS = "ETag, Retry-After"


def _allowed_origin(origin: str) -> str | None:
    allowed = getattr(settings, "FLAGSITE_CORS_ALLOWED_ORIGINS", ["*"])
    if "*" in allowed:
        return "*"
    return origin if origin in allowed else None


class DeliveryCorsMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        origin = request.META.get("HTTP_ORIGIN")
        if not origin or not request.path.startswith(CORS_PATHS):
            return self.get_response(request)
        allow = _allowed_origin(origin)
        if request.method == "OPTIONS" and "HTTP_ACCESS_CONTROL_REQUEST_METHOD" in request.META:
            response = HttpResponse(status=204)
            if allow is not None:
                response["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
                response["Access-Control-Allow-Headers"] = ALLOWED_HEADERS
                response["Access-Control-Max-Age"] = "86400"
        else:
            response = self.get_response(request)
        if allow is not None:
            response["Access-Control-Allow-Origin"] = allow
            response["Access-Control-Expose-Headers"] = EXPOSED_HEADERS
            if allow != "*":
                patch_vary_headers(response, ["Origin"])
        return response
