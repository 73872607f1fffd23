"""The one CORS policy of the delivery endpoints, applied by one middleware to all of them.

| endpoint | key | cross-origin browsers |
|---|---|---|
| `/api/v1/evaluate`, `/ofrep/v1/...`, `/api/v1/feedback` | client or server | allowed origins |
| `/api/v1/sdk/ruleset`, `/api/v1/events` | server (secret) | never |

Client keys are public by design (they ship in web pages) and these endpoints use no cookies, so
any origin may call them unless FLAGSITE_CORS_ALLOWED_ORIGINS lists the allowed ones. Allowed
origins get `Access-Control-Allow-Origin` on every answer (errors and 429s too, so scripts can
read them), `ETag` and `Retry-After` exposed, and preflights answered here, without a key.
Other origins, and every origin on the server-key endpoints (a server key must never be in a
browser), get a preflight answer without CORS headers, which the browser refuses, and no CORS
headers on the answer. Every other path (UI, management API) gets no CORS headers at all.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_vary_headers

BROWSER_PATHS = ("/api/v1/evaluate", "/api/v1/feedback", "/ofrep/")
SERVER_ONLY_PATHS = ("/api/v1/sdk/ruleset", "/api/v1/events")
ALLOWED_METHODS = "GET, POST, OPTIONS"
ALLOWED_HEADERS = "Authorization, Content-Type, X-API-Key, If-None-Match"
EXPOSED_HEADERS = "ETag, Retry-After"


def cors_allowed_origin(path: str, origin: str | None) -> str | None:
    """The `Access-Control-Allow-Origin` value for a request, or None for no CORS headers."""
    if not path.startswith(BROWSER_PATHS):
        return None
    allowed = getattr(settings, "FLAGSITE_CORS_ALLOWED_ORIGINS", ["*"])
    if "*" in allowed:
        return "*"
    return origin if origin and origin in allowed else None


def _is_preflight(request: HttpRequest) -> bool:
    return request.method == "OPTIONS" and "HTTP_ACCESS_CONTROL_REQUEST_METHOD" in request.META


class DeliveryCorsMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        path = request.path
        if not path.startswith(BROWSER_PATHS + SERVER_ONLY_PATHS):
            return self.get_response(request)
        origin = request.META.get("HTTP_ORIGIN")
        allow = cors_allowed_origin(path, origin)
        if _is_preflight(request):
            response = HttpResponse(status=204)
            if allow is not None:
                response["Access-Control-Allow-Methods"] = ALLOWED_METHODS
                response["Access-Control-Allow-Headers"] = ALLOWED_HEADERS
                response["Access-Control-Max-Age"] = "86400"
        else:
            response = self.get_response(request)
        if allow is not None:
            response["Access-Control-Allow-Origin"] = allow
            response["Access-Control-Expose-Headers"] = EXPOSED_HEADERS
        if allow != "*" and path.startswith(BROWSER_PATHS):
            # The answer depends on the Origin: shared caches must keep one copy per origin.
            patch_vary_headers(response, ["Origin"])
        return response
