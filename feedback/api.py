"""POST /api/v1/events (server key) and POST /api/v1/feedback (any key, CORS): parse, check
limits, call feedback.ingest. The wire format is docs/events.md."""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from flags.api.auth import ApiKeyAuthentication, IsAnyKey, IsServerKey, KeyPrincipal
from flagsite.ratelimit import rate_limit_hit

from .ingest import MAX_EVENTS, MAX_EVENTS_BYTES, MAX_FEEDBACK_BYTES, events_ingest, feedback_ingest
from .validation import Invalid


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "Request body too large."
    default_code = "too_large"


def _invalid(field: str, message: str) -> exceptions.ValidationError:
    return exceptions.ValidationError({field: [message]})


def json_body(request: Request, *, max_bytes: int) -> Any:
    """The parsed JSON body, or 413 / 400 (naming `body`)."""
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > max_bytes:
        raise PayloadTooLarge(f"The body is {declared} bytes; the limit is {max_bytes}.")
    try:
        body = request.body
    except RequestDataTooBig:
        raise PayloadTooLarge(f"The body is over the limit of {max_bytes} bytes.") from None
    if len(body) > max_bytes:
        raise PayloadTooLarge(f"The body is {len(body)} bytes; the limit is {max_bytes}.")
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise _invalid("body", "must be valid JSON (UTF-8)") from None


def client_ip(request: HttpRequest) -> str:
    """The caller's address; behind FEEDBACK_PROXY_COUNT trusted proxies, from X-Forwarded-For."""
    proxies = getattr(settings, "FEEDBACK_PROXY_COUNT", 0)
    if proxies > 0:
        hops = [h.strip() for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        hops = [h for h in hops if h]
        if len(hops) >= proxies:
            return hops[-proxies]
    return request.META.get("REMOTE_ADDR", "") or "unknown"


def _limit(bucket: str, per_minute: int) -> None:
    wait = rate_limit_hit(bucket, per_minute)
    if wait is not None:
        raise exceptions.Throttled(wait=wait)


class EventsApi(APIView):
    authentication_classes = [ApiKeyAuthentication]
    permission_classes = [IsServerKey]

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        principal: KeyPrincipal = request.user
        _limit(f"events:key:{principal.api_key_id}", settings.FLAGSITE_RATE_LIMIT_PER_MINUTE)

    def post(self, request: Request) -> Response:
        body = json_body(request, max_bytes=MAX_EVENTS_BYTES)
        events = body.get("events") if isinstance(body, dict) else None
        if not isinstance(events, list):
            raise _invalid("events", "must be a list of events")
        if not events:
            raise _invalid("events", "must contain at least one event")
        if len(events) > MAX_EVENTS:
            raise PayloadTooLarge(f"At most {MAX_EVENTS} events per request; got {len(events)}.")
        result = events_ingest(environment_id=request.user.environment_id, events=events)
        answer = 200 if result.accepted or result.duplicates else 400
        return Response(result.as_json(), status=answer)


class FeedbackApi(APIView):
    authentication_classes = [ApiKeyAuthentication]
    permission_classes = [IsAnyKey]

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        # The IP limit comes first, so a flood of bad keys costs no key lookups.
        _limit(f"feedback:ip:{client_ip(request)}", settings.FEEDBACK_RATE_LIMIT_PER_IP)
        super().initial(request, *args, **kwargs)
        principal: KeyPrincipal = request.user
        _limit(f"feedback:key:{principal.api_key_id}", settings.FEEDBACK_RATE_LIMIT_PER_KEY)

    def post(self, request: Request) -> Response:
        body = json_body(request, max_bytes=MAX_FEEDBACK_BYTES)
        try:
            event_id, stored = feedback_ingest(
                environment_id=request.user.environment_id, payload=body
            )
        except Invalid as exc:
            raise exceptions.ValidationError({k: [v] for k, v in exc.errors.items()}) from None
        if stored:
            return Response({"id": event_id, "status": "stored"}, status=201)
        return Response({"id": event_id, "status": "duplicate"}, status=200)


CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "POST, OPTIONS",
    "Access-Control-Allow-Headers": "Authorization, Content-Type, X-API-Key",
    "Access-Control-Expose-Headers": "Retry-After",
    "Access-Control-Max-Age": "86400",
}

events_api = EventsApi.as_view()
_feedback_api = FeedbackApi.as_view()


@csrf_exempt
def feedback_api(request: HttpRequest) -> HttpResponse:
    """Browsers call this from other origins with a client key: answer the preflight without
    a key, and put the CORS headers on every answer (errors too, so scripts can read them).
    No cookies are involved, so any origin may call it."""
    preflight = request.method == "OPTIONS"
    response = HttpResponse(status=204) if preflight else _feedback_api(request)
    for name, value in CORS_HEADERS.items():
        response[name] = value
    return response
