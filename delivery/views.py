"""The SDK endpoints: the ruleset download (server keys) and server-side evaluation (any key).

Both answer from the in-process ruleset copy (flags.publish): no database in steady state. Their
steady state is answered earlier, by delivery.fastlane, with the functions below; these views
answer the rest (and everything when the fast lane is off).
Client keys never see rules or segments: evaluate tells them value, variant and reason only;
server keys also get the matching rule id (they can download the whole ruleset anyway).
"""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpResponse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from flagsite_sdk.engine import evaluate, evaluate_all, experiment_of
from rest_framework import exceptions
from rest_framework.views import APIView

from . import schema_docs as docs
from .auth import ApiKeyAuthentication, IsAnyKey, IsServerKey, KeyPrincipal
from .common import (
    InputError,
    KeyRateThrottle,
    context_from,
    etag_for,
    etag_matches,
    fragment,
    json_body,
    json_response,
    not_modified,
    ruleset_for,
)
from .exposures import exposures_record
from .models import ApiKey

MAX_FLAGS_PER_REQUEST = 1000


class _DeliveryView(APIView):
    authentication_classes = [ApiKeyAuthentication]
    throttle_classes = [KeyRateThrottle]


class RulesetView(_DeliveryView):
    permission_classes = [IsServerKey]

    @extend_schema(
        operation_id="sdk_ruleset",
        summary="The key's environment ruleset (docs/ruleset.md), with ETag",
        tags=["delivery"],
        parameters=[docs.IF_NONE_MATCH],
        responses={
            200: OpenApiResponse(docs.RulesetSerializer, "The compiled-ready ruleset."),
            304: OpenApiResponse(description="Not modified (If-None-Match matched)."),
            **docs.KEY_ERRORS,
        },
    )
    def get(self, request: Any) -> HttpResponse:
        published = ruleset_for(request.user)
        if etag_matches(request, published.etag):
            return not_modified(published.etag)
        return json_response(published.body, etag=published.etag)


def served(results: dict[str, Any]) -> Any:
    return ((key, ev.variant) for key, ev in results.items())


def _evaluation_item(key: str, ev: Any, with_rules: bool) -> bytes:
    item = {
        "value": ev.value,
        "variant": ev.variant,
        "reason": ev.reason,
        "error_code": ev.error_code,
    }
    if with_rules:
        item["rule_id"] = ev.rule_id
    return (json.dumps(key) + ":" + json.dumps(item, separators=(",", ":"))).encode()


def assigned(results: dict[str, Any]) -> list[tuple[str, str, str]]:
    """The evaluations an experiment's rule served: (flag, variant, experiment key)."""
    return [
        (key, ev.variant, experiment)
        for key, ev in results.items()
        if (experiment := experiment_of(ev.rule_id))
    ]


def evaluation_body(results: dict[str, Any], *, with_rules: bool) -> bytes:
    """`{"flags": {key: {value, variant, reason, error_code[, rule_id]}}}`, compact: what
    json.dumps of that dict gives, put together from each result's JSON built once."""
    items = [fragment(key, ev, with_rules, _evaluation_item) for key, ev in results.items()]
    return b'{"flags":{' + b",".join(items) + b"}}"


def evaluate_request_parse(data: dict[str, Any]) -> tuple[dict[str, Any], list[str] | None]:
    if "context" not in data:
        raise InputError("context", "This field is required (a JSON object, may be empty).")
    context = context_from(data["context"])
    keys = data.get("flags")
    if keys is not None:
        if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
            raise InputError("flags", "must be a list of flag keys (strings).")
        if len(keys) > MAX_FLAGS_PER_REQUEST:
            raise InputError("flags", f"at most {MAX_FLAGS_PER_REQUEST} flags per request.")
    return context, keys


class EvaluateView(_DeliveryView):
    permission_classes = [IsAnyKey]

    @extend_schema(
        operation_id="evaluate",
        summary="Evaluate every flag (or the listed ones) for a context",
        tags=["delivery"],
        parameters=[docs.IF_NONE_MATCH],
        request=docs.EvaluateRequestSerializer,
        responses={
            200: OpenApiResponse(docs.EvaluateResponseSerializer, "One result per flag."),
            304: OpenApiResponse(description="Not modified (If-None-Match matched)."),
            400: docs.ERROR,
            **docs.KEY_ERRORS,
        },
    )
    def post(self, request: Any) -> HttpResponse:
        principal: KeyPrincipal = request.user
        try:
            context, keys = evaluate_request_parse(json_body(request))
        except InputError as exc:
            raise exceptions.ValidationError({exc.field: [exc.message]}) from None
        ruleset = ruleset_for(principal).compiled
        if keys is None:
            results = evaluate_all(ruleset, context)
        else:
            results = {key: evaluate(ruleset, key, context) for key in keys}
        exposures_record(
            principal.environment_id, served(results), context.get("key"), assigned(results)
        )
        body = evaluation_body(results, with_rules=principal.kind == ApiKey.Kind.SERVER)
        etag = etag_for(body)
        if etag_matches(request, etag):
            return not_modified(etag)
        return json_response(body, etag=etag)
