"""POST /api/v1/events (server key) and POST /api/v1/feedback (any key, CORS): parse, check
limits, call feedback.ingest. The wire format is docs/events.md."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import exceptions, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from delivery.auth import ApiKeyAuthentication, IsAnyKey, IsServerKey, KeyPrincipal
from delivery.ratelimit import rate_limit_hit
from delivery.schema_docs import ERROR
from flagsite.jsonbody import BodyTooLarge, JsonInputError, JsonTooDeep, json_parse, request_body

from .ingest import MAX_EVENTS, MAX_EVENTS_BYTES, MAX_FEEDBACK_BYTES, events_ingest, feedback_ingest
from .validation import Invalid

PayloadTooLarge = BodyTooLarge


def _invalid(field: str, message: str) -> exceptions.ValidationError:
    return exceptions.ValidationError({field: [message]})


def json_body(request: Request, *, max_bytes: int) -> Any:
    """The parsed JSON body, or 413 / 400 (naming `body`)."""
    body = request_body(request, max_bytes=max_bytes)
    try:
        return json_parse(body)
    except JsonTooDeep as exc:
        raise _invalid("body", exc.message) from None
    except JsonInputError:
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


_EVENTS_REQUEST = inline_serializer(
    "EventsBatch",
    {"events": serializers.ListField(child=serializers.DictField(), min_length=1)},
)
_EVENTS_RESULT = inline_serializer(
    "EventsResult",
    {
        "accepted": serializers.IntegerField(),
        "duplicates": serializers.IntegerField(),
        "rejected": serializers.ListField(child=serializers.DictField()),
    },
)
_FEEDBACK_REQUEST = inline_serializer(
    "Feedback",
    {
        "id": serializers.CharField(max_length=128),
        "conversation_id": serializers.CharField(),
        "request_id": serializers.CharField(required=False),
        "user_key": serializers.CharField(required=False),
        "type": serializers.ChoiceField(choices=["thumbs_up", "thumbs_down"]),
        "rating": serializers.IntegerField(min_value=1, max_value=5, required=False),
        "comment": serializers.CharField(max_length=5000, required=False),
        "category": serializers.ChoiceField(
            choices=["hallucination", "irrelevant", "formatting", "safety", "other"],
            required=False,
        ),
        "timestamp": serializers.DateTimeField(required=False),
    },
)
_FEEDBACK_RESULT = inline_serializer(
    "FeedbackResult", {"id": serializers.CharField(), "status": serializers.CharField()}
)
_ERRORS = {code: ERROR for code in (401, 403, 413, 429)}


class EventsApi(APIView):
    authentication_classes = [ApiKeyAuthentication]
    permission_classes = [IsServerKey]

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        principal: KeyPrincipal = request.user
        _limit(f"events:key:{principal.api_key_id}", settings.FLAGSITE_RATE_LIMIT_PER_MINUTE)

    @extend_schema(
        summary="Ingest a batch of telemetry events (docs/events.md)",
        request=_EVENTS_REQUEST,
        responses={
            200: _EVENTS_RESULT,
            400: OpenApiResponse(description="Every event was rejected, or the body is invalid."),
            **_ERRORS,
        },
    )
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
    """Browsers call this from other origins with a client key: the preflight is answered
    without a key, and every answer (errors too, so scripts can read them) carries the CORS
    headers. No cookies are involved, so any origin may call it."""

    authentication_classes = [ApiKeyAuthentication]
    permission_classes = [IsAnyKey]

    def options(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return Response(status=204)

    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any) -> Any:
        response = super().finalize_response(request, response, *args, **kwargs)
        for name, value in CORS_HEADERS.items():
            response[name] = value
        return response

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        if request.method == "OPTIONS":
            return  # a CORS preflight carries no key
        # The IP limit comes first, so a flood of bad keys costs no key lookups.
        _limit(f"feedback:ip:{client_ip(request)}", settings.FEEDBACK_RATE_LIMIT_PER_IP)
        super().initial(request, *args, **kwargs)
        principal: KeyPrincipal = request.user
        _limit(f"feedback:key:{principal.api_key_id}", settings.FEEDBACK_RATE_LIMIT_PER_KEY)

    @extend_schema(
        summary="Record explicit feedback (thumbs, rating, comment, category)",
        request=_FEEDBACK_REQUEST,
        responses={201: _FEEDBACK_RESULT, 200: _FEEDBACK_RESULT, 400: ERROR, **_ERRORS},
    )
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
feedback_api = FeedbackApi.as_view()
