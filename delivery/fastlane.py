"""The delivery fast lane: the steady state of the hot endpoints answered before the UI's
middleware (sessions, CSRF, auth, messages, htmx), URL resolution and DRF run.

| request | answered here when |
|---|---|
| `GET /api/v1/sdk/ruleset` (200 or 304) | a server key this process knows, under its limit |
| `POST /api/v1/evaluate` | a known key, under its limit, a valid body |
| `POST /ofrep/v1/evaluate/flags`, `POST /ofrep/v1/evaluate/flags/<key>` | the same |

Everything else (no key, an unknown or revoked key, a key of the wrong kind, a body that does not
parse, a request over its limit, the key store or the ruleset failing) returns None here and
takes the ordinary path: DRF's authentication, throttling and error shapes, unchanged. A request
refused by its limit here is counted once: the ordinary path's throttle reuses the answer.

The answers are the ordinary path's, byte for byte: the same functions build the bodies and
ETags (delivery.views, delivery.ofrep), and the headers the skipped layers would add are added
here: DRF's `Allow`, CommonMiddleware's `Content-Length`, XFrameOptionsMiddleware's
`X-Frame-Options`. CORS, the security headers and the CSP come from the middleware that runs
before this one (flagsite/settings.py, MIDDLEWARE). tests/delivery run against this lane, and
tests/delivery/test_fastlane.py compares it with the ordinary path answer by answer.
`FLAGSITE_DELIVERY_FAST_LANE=false` turns it off.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from flagsite_sdk.engine import evaluate, evaluate_all

from flags.publish import Published
from flagsite.jsonbody import BodyTooLarge

from .auth import KeyPrincipal, principal_for_key, raw_key_from_headers
from .common import InputError, etag_for, etag_matches, json_body, ruleset_for
from .exposures import exposures_record
from .limits import key_limit_wait
from .ofrep import bulk_body, dumps, flag_exposure_record, flag_result, ofrep_context
from .views import assigned, evaluate_request_parse, evaluation_body, served

# Set in the WSGI environ by the WSGI lane (delivery/wsgilane.py) for the ordinary path:
LANE_WAIT = "flagsite.lane_wait"  # the request was counted there and refused (seconds)
LANE_ANSWER = "flagsite.lane_answer"  # (status, body, ETag) computed and counted there

RULESET = "/api/v1/sdk/ruleset"
EVALUATE = "/api/v1/evaluate"
OFREP_BULK = "/ofrep/v1/evaluate/flags"
OFREP_FLAG = OFREP_BULK + "/"

SERVER = "server"
CLIENT = "client"

Answer = tuple[int, bytes, str | None]  # status, body, ETag
# The request: an HttpRequest, or what the WSGI lane builds (`.META` and `.body` only).
Handler = Callable[[Any, KeyPrincipal, Published, Any], Answer]


class DeliveryFastLaneMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.x_frame_options = (
            settings.X_FRAME_OPTIONS.upper()
            if "django.middleware.clickjacking.XFrameOptionsMiddleware" in settings.MIDDLEWARE
            else None
        )

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if LANE_WAIT in request.META:  # counted and refused by the WSGI lane (delivery/wsgilane.py)
            request._flagsite_throttle_wait = request.META[LANE_WAIT]  # type: ignore[attr-defined]
        path = request.path_info
        if path.startswith(("/api/v1/", "/ofrep/")) and settings.FLAGSITE_DELIVERY_FAST_LANE:
            response = self.answer(request, path)
            if response is not None:
                return response
        return self.get_response(request)

    def answer(self, request: HttpRequest, path: str) -> HttpResponse | None:
        found = route(path, request.method or "")
        if found is None:
            return None
        handler, allow, kinds = found
        return self.respond(request, handler, allow=allow, kinds=kinds)

    def respond(
        self,
        request: HttpRequest,
        handler: Handler,
        *,
        allow: str,
        kinds: tuple[str, ...] = (SERVER, CLIENT),
    ) -> HttpResponse | None:
        lane_answer = request.META.get(LANE_ANSWER)
        if lane_answer is not None:  # computed and counted by the WSGI lane, which learns from it
            return self.response(*lane_answer, allow=allow)
        raw = raw_key_from_headers(request.META)
        if raw is None:
            return None
        try:
            # A key this process does not know yet takes the ordinary path (and its per-IP limit).
            principal = principal_for_key(raw, known_only=True)
            if principal is None or principal.kind not in kinds:
                return None
            parsed = parse(request, handler)
            # Before counting: a ruleset that cannot be loaded is the ordinary path's 503.
            published = ruleset_for(principal)
        except Exception:  # let the ordinary path report it (e.g. the key store unreachable)
            return None
        if parsed is INVALID:
            return None
        wait = getattr(request, "_flagsite_throttle_wait", None)
        if wait is None:
            wait = key_limit_wait(principal, request)
        if wait is not None:
            # Counted once: delivery.common.KeyRateThrottle reuses this answer for the 429.
            request._flagsite_throttle_wait = wait  # type: ignore[attr-defined]
            return None
        status, body, etag = handler(request, principal, published, parsed)
        return self.response(status, body, etag, allow=allow)

    def response(self, status: int, body: bytes, etag: str | None, *, allow: str) -> HttpResponse:
        if status == 304:  # as delivery.common.not_modified (Django's default Content-Type)
            response = HttpResponse(status=304)
        else:
            response = HttpResponse(body, status=status, content_type="application/json")
        if etag is not None:
            response["ETag"] = etag
            response["Cache-Control"] = "no-cache"
        response["Allow"] = allow
        if self.x_frame_options is not None:
            response["X-Frame-Options"] = self.x_frame_options
        response["Content-Length"] = str(len(body))
        return response


def route(path: str, method: str) -> tuple[Handler, str, tuple[str, ...]] | None:
    """The handler of a hot endpoint's request, its `Allow` header and the key kinds it takes;
    None for every other request."""
    if path == RULESET and method == "GET":
        return _ruleset, "GET, HEAD, OPTIONS", (SERVER,)
    if method != "POST":
        return None
    if path == EVALUATE:
        return _evaluate, "POST, OPTIONS", (SERVER, CLIENT)
    if path == OFREP_BULK:
        return _ofrep_bulk, "POST, OPTIONS", (SERVER, CLIENT)
    if path.startswith(OFREP_FLAG):
        key = path[len(OFREP_FLAG) :]
        if key and "/" not in key:
            return _ofrep_flag(key), "POST, OPTIONS", (SERVER, CLIENT)
    return None


INVALID = object()
_NO_BODY = object()


def parse(request: Any, handler: Any) -> Any:
    """The request's context (parsed before anything is counted), INVALID for the ordinary
    path's error answers, _NO_BODY for a GET."""
    if handler is _ruleset:
        return _NO_BODY
    try:
        if handler is _evaluate:
            return evaluate_request_parse(json_body(request))
        return ofrep_context(request)
    except (InputError, BodyTooLarge):
        return INVALID


def _conditional(request: HttpRequest, body: bytes, etag: str) -> Answer:
    if etag_matches(request, etag):
        return 304, b"", etag
    return 200, body, etag


def _ruleset(
    request: HttpRequest, principal: KeyPrincipal, published: Published, parsed: Any
) -> Answer:
    return _conditional(request, published.body, published.etag)


def _evaluate(
    request: HttpRequest, principal: KeyPrincipal, published: Published, parsed: Any
) -> Answer:
    context, keys = parsed
    ruleset = published.compiled
    if keys is None:
        results = evaluate_all(ruleset, context)
    else:
        results = {key: evaluate(ruleset, key, context) for key in keys}
    exposures_record(
        principal.environment_id, served(results), context.get("key"), assigned(results)
    )
    body = evaluation_body(results, with_rules=principal.kind == SERVER)
    return _conditional(request, body, etag_for(body))


def _ofrep_bulk(
    request: HttpRequest, principal: KeyPrincipal, published: Published, context: Any
) -> Answer:
    body = bulk_body(principal, context, published)
    return _conditional(request, body, etag_for(body))


def _ofrep_flag(key: str) -> Handler:
    def handler(
        request: HttpRequest, principal: KeyPrincipal, published: Published, context: Any
    ) -> Answer:
        with_rules = principal.kind == SERVER
        status, item, experiment = flag_result(published, key, context, with_rules=with_rules)
        flag_exposure_record(principal.environment_id, key, item, experiment, context.get("key"))
        return status, dumps(item), None

    return handler
