"""The SDK endpoints: the ruleset download (server keys) and server-side evaluation (any key).

Both answer from the in-process ruleset copy (flags.publish): no database in steady state.
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
from .auth import (
    ApiKeyAuthentication,
    IsAnyKey,
    IsServerKey,
    KeyPrincipal,
    principal_for_key,
    raw_key_from_headers,
)
from .common import (
    InputError,
    KeyRateThrottle,
    context_from,
    etag_for,
    etag_matches,
    json_body,
    json_response,
    not_modified,
    ruleset_for,
)
from .exposures import exposures_record
from .limits import key_limit_wait
from .models import ApiKey

MAX_FLAGS_PER_REQUEST = 1000


class _DeliveryView(APIView):
    authentication_classes = [ApiKeyAuthentication]
    throttle_classes = [KeyRateThrottle]


def _ruleset_fast(request: Any) -> HttpResponse | None:
    """The steady state of SDK polling (a known server key under its limit) without DRF's
    request wrapping, negotiation and permission machinery: what the 304 path spends its time
    on. Anything else returns None and goes through DRF, so every error answer stays uniform."""
    raw = raw_key_from_headers(request.META)
    if raw is None:
        return None
    try:
        # A key this process does not know yet takes the full path (and its per-IP limit).
        principal = principal_for_key(raw, known_only=True)
    except Exception:  # let DRF report it (e.g. the key store being unreachable)
        return None
    if principal is None or principal.kind != ApiKey.Kind.SERVER:
        return None
    wait = key_limit_wait(principal, request)
    if wait is not None:
        request._flagsite_throttle_wait = wait  # counted once: KeyRateThrottle reuses it
        return None
    published = ruleset_for(principal)
    if etag_matches(request, published.etag):
        return not_modified(published.etag)
    return json_response(published.body, etag=published.etag)


class RulesetView(_DeliveryView):
    permission_classes = [IsServerKey]

    def dispatch(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        if request.method == "GET":
            response = _ruleset_fast(request)
            if response is not None:
                return response
        return super().dispatch(request, *args, **kwargs)

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


def _served(results: dict[str, Any]) -> Any:
    return ((key, ev.variant) for key, ev in results.items())


def _assigned(results: dict[str, Any]) -> list[tuple[str, str, str]]:
    """The evaluations an experiment's rule served: (flag, variant, experiment key)."""
    return [
        (key, ev.variant, experiment)
        for key, ev in results.items()
        if (experiment := experiment_of(ev.rule_id))
    ]


def evaluation_body(results: dict[str, Any], *, with_rules: bool) -> bytes:
    flags: dict[str, dict[str, Any]] = {}
    for key, ev in results.items():
        item = {
            "value": ev.value,
            "variant": ev.variant,
            "reason": ev.reason,
            "error_code": ev.error_code,
        }
        if with_rules:
            item["rule_id"] = ev.rule_id
        flags[key] = item
    return json.dumps({"flags": flags}, separators=(",", ":")).encode()


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
            principal.environment_id, _served(results), context.get("key"), _assigned(results)
        )
        body = evaluation_body(results, with_rules=principal.kind == ApiKey.Kind.SERVER)
        etag = etag_for(body)
        if etag_matches(request, etag):
            return not_modified(etag)
        return json_response(body, etag=etag)
