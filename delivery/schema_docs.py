"""OpenAPI descriptions of the delivery endpoints and the API's error shape (drf-spectacular).

The hot-path views parse JSON by hand for speed; these serializers only describe the shapes for
/api/schema/ and are never used to parse a request.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, inline_serializer
from rest_framework import serializers

IF_NONE_MATCH = OpenApiParameter(
    "If-None-Match",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=False,
    description="An ETag from an earlier response: 304 without a body when it still matches.",
)


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    # declared fields leave the class body (DRF's metaclass): Serializer.fields is not replaced
    fields = serializers.DictField(  # type: ignore[assignment]
        child=serializers.ListField(child=serializers.CharField()), required=False
    )


class ErrorSerializer(serializers.Serializer):
    error = ErrorDetailSerializer()


ERROR = OpenApiResponse(ErrorSerializer, "The error: a code, a message and the fields at fault.")
KEY_ERRORS: dict[int, Any] = {
    401: OpenApiResponse(ErrorSerializer, "No API key, or an unknown or revoked one."),
    403: OpenApiResponse(ErrorSerializer, "A key of the wrong kind for this endpoint."),
    429: OpenApiResponse(ErrorSerializer, "Rate limit reached: see the Retry-After header."),
}


class RulesetSerializer(serializers.Serializer):
    schema = serializers.IntegerField()
    environment = serializers.CharField()
    version = serializers.IntegerField()
    flags = serializers.DictField(child=serializers.DictField())
    segments = serializers.DictField(child=serializers.DictField())


class EvaluateRequestSerializer(serializers.Serializer):
    # declared fields leave the class body (DRF's metaclass): Field.context is not replaced
    context = serializers.DictField(  # type: ignore[assignment]
        help_text="The evaluation context; `key` (or OpenFeature's `targetingKey`) identifies it."
    )
    flags = serializers.ListField(
        child=serializers.CharField(),
        required=False,
        help_text="Only these flags (default: every flag of the environment).",
    )


class EvaluationSerializer(serializers.Serializer):
    value = serializers.JSONField(allow_null=True)
    variant = serializers.CharField(allow_null=True)
    reason = serializers.CharField()
    error_code = serializers.CharField(allow_null=True)
    rule_id = serializers.CharField(
        allow_null=True, required=False, help_text="Server keys only: the rule that matched."
    )


class EvaluateResponseSerializer(serializers.Serializer):
    flags = serializers.DictField(child=EvaluationSerializer())


# --- OFREP (https://github.com/open-feature/protocol, service/openapi.yaml) -----------------

OFREP_REQUEST = inline_serializer(
    "OfrepEvaluationRequest",
    {"context": serializers.DictField(required=False)},
)
OFREP_SUCCESS = inline_serializer(
    "OfrepEvaluationSuccess",
    {
        "key": serializers.CharField(),
        "value": serializers.JSONField(),
        "reason": serializers.CharField(),
        "variant": serializers.CharField(),
        "metadata": serializers.DictField(required=False),
    },
)
OFREP_FAILURE = inline_serializer(
    "OfrepEvaluationFailure",
    {
        "key": serializers.CharField(),
        "errorCode": serializers.CharField(),
        "errorDetails": serializers.CharField(required=False),
    },
)
OFREP_BULK_SUCCESS = inline_serializer(
    "OfrepBulkEvaluationSuccess",
    {"flags": serializers.ListField(child=serializers.DictField())},
)
OFREP_BULK_FAILURE = inline_serializer(
    "OfrepBulkEvaluationFailure",
    {"errorCode": serializers.CharField(), "errorDetails": serializers.CharField(required=False)},
)


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "delivery.auth.ApiKeyAuthentication"
    name = ["ApiKeyBearer", "ApiKeyHeader"]

    def get_security_definition(self, auto_schema: Any) -> list[dict[str, Any]]:
        return [
            {"type": "http", "scheme": "bearer", "description": "An environment's API key."},
            {"type": "apiKey", "in": "header", "name": "X-API-Key"},
        ]
