"""OFREP, the OpenFeature Remote Evaluation Protocol (open-feature/protocol, service/openapi.yaml).

Same engine and ruleset copy as /api/v1/evaluate; only the shapes differ:
- success: {key, value, reason, variant, metadata}; `variant` is always sent;
- failure (400): {key, errorCode, errorDetails} with PARSE_ERROR (body not JSON / not an object),
  INVALID_CONTEXT (context or targetingKey of the wrong type), TARGETING_KEY_MISSING (the flag
  buckets on the targeting key and the context has none), GENERAL (a broken flag);
- unknown flag: 404 {key, errorCode: FLAG_NOT_FOUND};
- bulk: {flags: [...]} with an ETag, 304 on If-None-Match; 429 with an integer Retry-After.
A request without a body or without `context` evaluates with an empty context.
"""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpResponse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from flagsite_sdk.engine import ERROR, FLAG_NOT_FOUND, Evaluation, evaluate, experiment_of
from rest_framework.request import Request
from rest_framework.views import APIView

from flags.publish import Published
from flagsite.jsonbody import BodyTooLarge

from . import schema_docs as docs
from .auth import ApiKeyAuthentication, IsAnyKey, KeyPrincipal, key_principal
from .common import (
    InputError,
    KeyRateThrottle,
    context_from,
    etag_for,
    etag_matches,
    fragment,
    has_targeting_key,
    json_body,
    json_response,
    not_modified,
    ruleset_for,
)
from .exposures import exposures_record
from .models import ApiKey

PARSE_ERROR = "PARSE_ERROR"
INVALID_CONTEXT = "INVALID_CONTEXT"
TARGETING_KEY_MISSING = "TARGETING_KEY_MISSING"


def dumps(data: Any) -> bytes:
    return json.dumps(data, separators=(",", ":")).encode()


def _failure(key: str | None, code: str, details: str) -> dict[str, Any]:
    out: dict[str, Any] = {"errorCode": code, "errorDetails": details}
    if key is not None:
        out = {"key": key, **out}
    return out


def ofrep_context(request: Any) -> dict[str, Any]:
    """The context, or InputError with the OFREP error code as `field`'s prefix."""
    try:
        data = json_body(request, allow_empty=True)
    except InputError as exc:
        raise InputError(PARSE_ERROR, exc.message) from None
    except BodyTooLarge as exc:
        raise InputError(PARSE_ERROR, str(exc.detail), status=413) from None
    try:
        return context_from(data.get("context"))
    except InputError as exc:
        raise InputError(INVALID_CONTEXT, str(exc)) from None


def flag_result(
    published: Published, key: str, context: dict[str, Any], *, with_rules: bool
) -> tuple[int, dict[str, Any], str]:
    """(HTTP status for a single-flag call, OFREP item, key of the experiment whose rule served
    it or '') for one flag."""
    if key not in published.compiled:
        return 404, _failure(key, FLAG_NOT_FOUND, f"Flag {key!r} not found."), ""
    if key in published.keyed_flags and not has_targeting_key(context):
        return (
            400,
            _failure(
                key,
                TARGETING_KEY_MISSING,
                "This flag buckets on the targeting key: send context.targetingKey.",
            ),
            "",
        )
    ev: Evaluation = evaluate(published.compiled, key, context)
    if ev.reason == ERROR:
        failure = _failure(key, ev.error_code or "GENERAL", "The flag could not be evaluated.")
        return 400, failure, ""
    return 200, _success(key, ev, with_rules), experiment_of(ev.rule_id)


def _success(key: str, ev: Evaluation, with_rules: bool) -> dict[str, Any]:
    item: dict[str, Any] = {
        "key": key,
        "value": ev.value,
        "reason": ev.reason,
        "variant": ev.variant,
    }
    if with_rules and ev.rule_id is not None:
        item["metadata"] = {"ruleId": ev.rule_id}
    return item


def flag_exposure_record(
    environment_id: int, key: str, item: dict[str, Any], experiment: str, unit: str | None
) -> None:
    """Count one single-flag evaluation (and the unit's assignment when an experiment's rule
    served it)."""
    variant = item.get("variant")
    assigned = ((key, variant, experiment),) if experiment and variant else ()
    exposures_record(environment_id, ((key, variant),), unit, assigned)


def _success_json(key: str, ev: Evaluation, with_rules: bool) -> bytes:
    return dumps(_success(key, ev, with_rules))


def bulk_body(
    principal: KeyPrincipal, context: dict[str, Any], published: Published | None = None
) -> bytes:
    """Every flag of the key's environment for one context, counted as exposures: what
    `dumps({"flags": [flag_result(...)[1] for each flag]})` gives, put together from each
    success's JSON built once (delivery.common.fragment)."""
    if published is None:
        published = ruleset_for(principal)
    with_rules = principal.kind == ApiKey.Kind.SERVER
    parts: list[bytes] = []
    served: list[tuple[str, str | None]] = []
    assigned: list[tuple[str, str, str]] = []
    keyed = published.keyed_flags
    compiled = published.compiled
    targeted = has_targeting_key(context)
    for key in compiled:
        if targeted or key not in keyed:
            ev = evaluate(compiled, key, context)
            if ev.reason != ERROR:
                parts.append(fragment(key, ev, with_rules, _success_json))
                served.append((key, ev.variant))
                experiment = experiment_of(ev.rule_id)
                if experiment and ev.variant is not None:
                    assigned.append((key, ev.variant, experiment))
                continue
        parts.append(dumps(flag_result(published, key, context, with_rules=with_rules)[1]))
    exposures_record(principal.environment_id, served, context.get("key"), assigned)
    return b'{"flags":[' + b",".join(parts) + b"]}"


class _OfrepView(APIView):
    authentication_classes = [ApiKeyAuthentication]
    permission_classes = [IsAnyKey]
    throttle_classes = [KeyRateThrottle]


class OfrepFlagView(_OfrepView):
    @extend_schema(
        operation_id="ofrep_evaluate_flag",
        summary="OFREP single flag evaluation",
        tags=["ofrep"],
        request=docs.OFREP_REQUEST,
        responses={
            200: docs.OFREP_SUCCESS,
            400: docs.OFREP_FAILURE,
            404: OpenApiResponse(docs.OFREP_FAILURE, "Flag not found."),
            **docs.KEY_ERRORS,
        },
    )
    def post(self, request: Request, key: str) -> HttpResponse:
        principal = key_principal(request)
        try:
            context = ofrep_context(request)
        except InputError as exc:
            return json_response(dumps(_failure(key, exc.field, exc.message)), status=exc.status)
        status, item, experiment = flag_result(
            ruleset_for(principal),
            key,
            context,
            with_rules=principal.kind == ApiKey.Kind.SERVER,
        )
        flag_exposure_record(principal.environment_id, key, item, experiment, context.get("key"))
        return json_response(dumps(item), status=status)


class OfrepBulkView(_OfrepView):
    @extend_schema(
        operation_id="ofrep_evaluate_flags",
        summary="OFREP bulk evaluation (every flag of the key's environment)",
        tags=["ofrep"],
        parameters=[docs.IF_NONE_MATCH],
        request=docs.OFREP_REQUEST,
        responses={
            200: docs.OFREP_BULK_SUCCESS,
            304: OpenApiResponse(description="Not modified (If-None-Match matched)."),
            400: docs.OFREP_BULK_FAILURE,
            **docs.KEY_ERRORS,
        },
    )
    def post(self, request: Request) -> HttpResponse:
        principal = key_principal(request)
        try:
            context = ofrep_context(request)
        except InputError as exc:
            return json_response(dumps(_failure(None, exc.field, exc.message)), status=exc.status)
        body = bulk_body(principal, context)
        etag = etag_for(body)
        if etag_matches(request, etag):
            return not_modified(etag)
        return json_response(body, etag=etag)


class OfrepConfigurationView(_OfrepView):
    """The optional OFREP extension: what a provider may assume about this server."""

    @extend_schema(
        operation_id="ofrep_configuration",
        summary="OFREP provider configuration",
        tags=["ofrep"],
        parameters=[docs.IF_NONE_MATCH],
        responses={200: OpenApiResponse(description="Capabilities."), 304: None, **docs.KEY_ERRORS},
    )
    def get(self, request: Request) -> HttpResponse:
        body = dumps(
            {
                "name": "flagsite",
                "capabilities": {
                    "cacheInvalidation": {
                        "polling": {"enabled": True, "minPollingIntervalMs": 1000}
                    },
                    "flagEvaluation": {
                        "supportedTypes": ["int", "float", "string", "boolean", "object"]
                    },
                },
            }
        )
        etag = etag_for(body)
        if etag_matches(request, etag):
            return not_modified(etag)
        return json_response(body, etag=etag)
