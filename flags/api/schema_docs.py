"""OpenAPI descriptions shared by the management views (drf-spectacular); the error shape and
the delivery endpoints' shapes are in delivery.schema_docs."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiResponse

from delivery.schema_docs import ERROR, ErrorSerializer

SESSION_ERRORS: dict[int, Any] = {
    400: ERROR,
    401: OpenApiResponse(ErrorSerializer, "Not logged in and no valid personal token."),
    403: OpenApiResponse(ErrorSerializer, "Your role may not do this."),
    404: OpenApiResponse(ErrorSerializer, "No such object."),
}


class PersonalTokenScheme(OpenApiAuthenticationExtension):
    target_class = "flags.api.auth.PersonalTokenAuthentication"
    name = "PersonalToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Token fs_pat_…` (a personal token; acts with its owner's role).",
        }
