"""POST /api/v1/events (server key) and POST /api/v1/feedback (any key, CORS): parse, check
limits, call feedback.ingest. The wire format is docs/events.md."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import exceptions, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from delivery.auth import ApiKeyAuthentication, IsAnyKey, IsServerKey, key_principal
from delivery.limits import ip_limit, key_limit_wait, throttle
from delivery.schema_docs import ERROR
from flagsite.jsonbody import BodyTooLarge, JsonInputError, JsonTooDeep, json_parse, request_body

from .ingest import MAX_EVENTS, MAX_EVENTS_BYTES, MAX_FEEDBACK_BYTES, events_ingest, feedback_ingest
from .schema_docs import EVENTS_REQUEST
from .validation import Invalid

PayloadTooLarge = BodyTooLarge


def _invalid(field: str, message: str) -> exceptions.ValidationError:
    return exceptions.ValidationError({field: [message]})


def json_body(request: Request, *, max_bytes: int) -> Any:
    """The parsed JSON body, or 413 / 400 (naming `body`)."""
    try:
        body = request_body(request, max_bytes=max_bytes)
    except JsonInputError as exc:  # a Content-Length that is not a number
        raise _invalid("body", exc.message) from None
    try:
        return json_parse(body)
    except JsonTooDeep as exc:
        raise _invalid("body", exc.message) from None
    except JsonInputError:
        raise _invalid("body", "must be valid JSON (UTF-8)") from None


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
        principal = key_principal(request)
        throttle(key_limit_wait(principal, request, scope="events"))

    @extend_schema(
        summary="Ingest a batch of telemetry events (docs/events.md)",
        request=EVENTS_REQUEST,
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
        result = events_ingest(environment_id=key_principal(request).environment_id, events=events)
        answer = 200 if result.accepted or result.duplicates else 400
        return Response(result.as_json(), status=answer)


class FeedbackApi(APIView):
    """Browsers call this from other origins with a client key. CORS (the preflight, answered
    without a key, and the headers on every answer) is delivery.cors's, as for evaluate."""

    authentication_classes = [ApiKeyAuthentication]
    permission_classes = [IsAnyKey]

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        # The IP limit comes first, so a flood of bad keys costs no key lookups.
        ip_limit(request, scope="feedback", per_minute=settings.FEEDBACK_RATE_LIMIT_PER_IP)
        super().initial(request, *args, **kwargs)
        principal = key_principal(request)
        throttle(key_limit_wait(principal, request, scope="feedback"))

    @extend_schema(
        summary="Record explicit feedback (thumbs, rating, comment, category)",
        request=_FEEDBACK_REQUEST,
        responses={201: _FEEDBACK_RESULT, 200: _FEEDBACK_RESULT, 400: ERROR, **_ERRORS},
    )
    def post(self, request: Request) -> Response:
        body = json_body(request, max_bytes=MAX_FEEDBACK_BYTES)
        try:
            event_id, stored = feedback_ingest(
                environment_id=key_principal(request).environment_id, payload=body
            )
        except Invalid as exc:
            raise exceptions.ValidationError({k: [v] for k, v in exc.errors.items()}) from None
        if stored:
            return Response({"id": event_id, "status": "stored"}, status=201)
        return Response({"id": event_id, "status": "duplicate"}, status=200)


events_api = EventsApi.as_view()
feedback_api = FeedbackApi.as_view()
