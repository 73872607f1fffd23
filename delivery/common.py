"""What the delivery endpoints (ruleset, evaluate, OFREP) share: body and context parsing, ETags,
the per-key rate limit and the steady-state ruleset lookup.

Everything here runs on the hot path, so it stays small: no serializers, no database.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from django.http import HttpResponse
from rest_framework.throttling import BaseThrottle

from flags.publish import Published, ruleset_current
from flagsite.jsonbody import JsonInputError, json_parse, request_body

from .auth import KeyPrincipal
from .limits import key_limit_wait


class InputError(Exception):
    """A request the client must fix. `field` names the offending part (e.g. `context.key`)."""

    def __init__(self, field: str, message: str, *, status: int = 400) -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field
        self.message = message
        self.status = status


def json_body(request: Any, *, allow_empty: bool = False) -> dict[str, Any]:
    """The body as a JSON object. Over DATA_UPLOAD_MAX_MEMORY_SIZE: BodyTooLarge (a 413)."""
    try:
        raw = request_body(request)
    except JsonInputError as exc:
        raise InputError("body", exc.message) from None
    if not raw.strip():
        if allow_empty:
            return {}
        raise InputError("body", "The request body is empty; send a JSON object.")
    try:
        data = json_parse(raw)
    except JsonInputError as exc:
        raise InputError("body", exc.message) from None
    if not isinstance(data, dict):
        raise InputError("body", "The request body must be a JSON object.")
    return data


def _targeting_key_ok(value: Any) -> bool:
    return isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool))


def context_from(value: Any, *, field: str = "context") -> dict[str, Any]:
    """Validate an evaluation context and map OpenFeature's `targetingKey` to `key`."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InputError(field, "must be a JSON object.")
    if "targetingKey" not in value:
        if "key" in value and not _targeting_key_ok(value["key"]):
            raise InputError(f"{field}.key", "must be a string.")
        return value
    alias = value["targetingKey"]
    if alias is not None and not _targeting_key_ok(alias):
        raise InputError(f"{field}.targetingKey", "must be a string.")
    if "key" in value and value["key"] != alias and alias is not None:
        raise InputError(f"{field}.targetingKey", "differs from key; send one of the two.")
    context = {k: v for k, v in value.items() if k != "targetingKey"}
    if alias is not None:
        context["key"] = alias
    return context


def has_targeting_key(context: dict[str, Any]) -> bool:
    key = context.get("key")
    return key is not None and key != ""


# Serialized results: the engine's results are built once per compiled flag and shared between
# calls (flagsite_sdk.engine.model.Evaluation), so each one's JSON is built once too. Keyed by the
# result's identity; the entry holds the result, so its id cannot be reused while it is here.
_fragments: dict[tuple[Any, str, int, bool], tuple[Any, bytes]] = {}
MAX_FRAGMENTS = 20_000


def fragment(
    key: str, result: Any, with_rules: bool, build: Callable[[str, Any, bool], bytes]
) -> bytes:
    """`build(key, result, with_rules)`: the JSON of one flag's result, made once per (shape,
    flag, result, with_rules) and then reused."""
    memo_key = (build, key, id(result), with_rules)  # each endpoint's shape apart
    hit = _fragments.get(memo_key)
    if hit is not None and hit[0] is result:
        return hit[1]
    data = build(key, result, with_rules)
    if len(_fragments) >= MAX_FRAGMENTS:
        _fragments.clear()  # a new ruleset's results replace the old ones' over time
    _fragments[memo_key] = (result, data)
    return data


def etag_for(body: bytes) -> str:
    return '"' + hashlib.blake2b(body, digest_size=16).hexdigest() + '"'


def etag_matches(request: Any, etag: str) -> bool:
    header = request.META.get("HTTP_IF_NONE_MATCH")
    return bool(header) and etag_in(header, etag)


def etag_in(header: str, etag: str) -> bool:
    """Whether an `If-None-Match` value matches the ETag (weak comparison, `*`, lists)."""
    if header == etag:
        return True
    for candidate in header.split(","):
        candidate = candidate.strip()
        if candidate == "*" or candidate.removeprefix("W/") == etag:
            return True
    return False


def json_response(body: bytes, *, etag: str | None = None, status: int = 200) -> HttpResponse:
    response = HttpResponse(body, content_type="application/json", status=status)
    if etag is not None:
        response["ETag"] = etag
        # Clients may keep the body but must revalidate it (cheaply: 304) before using it.
        response["Cache-Control"] = "no-cache"
    return response


def not_modified(etag: str) -> HttpResponse:
    response = HttpResponse(status=304)
    response["ETag"] = etag
    response["Cache-Control"] = "no-cache"
    return response


def ruleset_for(principal: KeyPrincipal) -> Published:
    return ruleset_current(principal.environment_key, principal.environment_id)


class KeyRateThrottle(BaseThrottle):
    """The key's limits (delivery.limits: per server key; per caller IP and per key for client
    keys), counted exactly through Redis. DRF answers 429 with an integer `Retry-After`."""

    _wait: int | None = None

    def allow_request(self, request: Any, view: Any) -> bool:
        principal = request.user
        if not isinstance(principal, KeyPrincipal):
            return True
        counted = getattr(request._request, "_flagsite_throttle_wait", None)
        if counted is not None:  # the fast path already counted this request and said no
            self._wait = counted
            return False
        self._wait = key_limit_wait(principal, request)
        return self._wait is None

    def wait(self) -> float | None:
        return self._wait
