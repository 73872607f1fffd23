"""API-key authentication for the delivery endpoints (ruleset, evaluate, OFREP, events, feedback).

They take an environment's API key as `Authorization: Bearer <key>` or `X-API-Key: <key>`. Wrong
or revoked key: 401; right key of the wrong kind: 403 (the permission classes below). Personal
tokens (`fs_pat_…`, the management API) are left to flags.api.auth.

API keys are checked on every delivery request, so they are cached in this process: a key is
re-read from the database at most once per FLAGSITE_API_KEY_RECHECK_SECONDS (default: the ruleset
check interval, 1 s). That is the revocation delay. When the database cannot be reached, the
cached answer stands (stale-if-error), so a database outage does not log every SDK out.

A key this process does not know (no key, an unknown or revoked one, or one it has not seen yet)
first counts against the caller IP's unauthenticated limit (delivery.limits), *then* is looked
up; unknown keys are remembered for FLAGSITE_API_KEY_NEGATIVE_SECONDS in a separate, bounded
table, so a flood of random keys costs at most the per-IP limit in queries and never evicts the
known keys.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from django.conf import settings
from django.db import DatabaseError
from django.utils import timezone
from rest_framework import authentication, exceptions, permissions
from rest_framework.request import Request

from flags.models.tokens import TOKEN_PREFIX

from .limits import unauthenticated_limit
from .models import ApiKey

# Record "last used" at most this often per key and process: a hot key must not write per request.
LAST_USED_EVERY = 60.0
# Bound the caches: known keys, and unknown ones (kept apart, so junk never evicts a real key).
MAX_CACHED_KEYS = 10_000
MAX_UNKNOWN_KEYS = 10_000


class KeyStoreUnavailable(exceptions.APIException):
    status_code = 503
    default_detail = "The key store is unreachable; try again shortly."
    default_code = "unavailable"


@dataclass(frozen=True)
class KeyPrincipal:
    """What a request authenticated with an API key acts as (request.user)."""

    api_key_id: int
    kind: str
    environment_id: int
    environment_key: str
    hint: str

    is_authenticated = True
    is_anonymous = False

    def __str__(self) -> str:
        return f"api key {self.hint}…"


def key_principal(request: Request) -> KeyPrincipal:
    """`request.user` on a view guarded by ApiKeyAuthentication and IsAnyKey/IsServerKey: the
    permission classes have ensured it is a KeyPrincipal, which the type system cannot see."""
    return cast(KeyPrincipal, request.user)


def raw_key_from_headers(meta: dict[str, Any]) -> str | None:
    header = meta.get("HTTP_AUTHORIZATION", "")
    if header:
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
    value = meta.get("HTTP_X_API_KEY", "").strip()
    return value or None


@dataclass
class _Entry:
    principal: KeyPrincipal
    recheck_at: float
    last_used_written: float


_keys: dict[str, _Entry] = {}  # key hash -> a known, active key
_unknown: dict[str, float] = {}  # key hash -> until when it is known to be unknown
_keys_lock = threading.Lock()


def _recheck_seconds() -> float:
    value = getattr(settings, "FLAGSITE_API_KEY_RECHECK_SECONDS", None)
    if value is None:
        return float(getattr(settings, "FLAGSITE_RULESET_CHECK_INTERVAL", 1.0))
    return float(value)


def _negative_seconds() -> float:
    return float(getattr(settings, "FLAGSITE_API_KEY_NEGATIVE_SECONDS", 30.0))


def _load_principal(key_hash: str, entry: _Entry | None, now: float) -> _Entry | None:
    row = (
        ApiKey.objects.select_related("environment")
        .filter(key_hash=key_hash, revoked_at__isnull=True)
        .first()
    )
    if row is None:
        return None
    written = entry.last_used_written if entry is not None else 0.0
    if now - written >= LAST_USED_EVERY:
        stamp = timezone.now()
        if row.last_used_at is None or (stamp - row.last_used_at).total_seconds() >= 1:
            ApiKey.objects.filter(pk=row.pk).update(last_used_at=stamp)
        written = now
    principal = KeyPrincipal(row.pk, row.kind, row.environment_id, row.environment.key, row.hint)
    return _Entry(principal, now + _recheck_seconds(), written)


def principal_for_key(
    raw: str,
    *,
    on_unknown: Callable[[], None] | None = None,
    known_only: bool = False,
) -> KeyPrincipal | None:
    """Look a raw key up (by hash, cached). None when unknown or revoked.

    `on_unknown` runs before anything is decided for a key this process does not know (it may
    raise, e.g. 429, and then nothing is looked up). `known_only`: answer None for such keys
    without looking them up (the ruleset fast path leaves them to the full path).
    """
    key_hash = ApiKey.hash_key(raw)
    entry = _keys.get(key_hash)
    now = time.monotonic()
    if entry is not None and now < entry.recheck_at:
        return entry.principal
    if entry is not None:
        # One thread rechecks a known key; the others keep its principal meanwhile (at most
        # one query longer), instead of every request that arrives during the query asking
        # the database too (a burst of queries each recheck interval, and requests held up
        # whenever the database is slow: docs/security.md, "API keys").
        with _keys_lock:
            if now < entry.recheck_at:
                return entry.principal
            entry.recheck_at = now + _recheck_seconds()
    if entry is None:
        if known_only:
            return None
        if on_unknown is not None:
            on_unknown()
        until = _unknown.get(key_hash)
        if until is not None and now < until:
            return None
    try:
        fresh = _load_principal(key_hash, entry, now)
    except DatabaseError:
        if entry is None:
            raise
        # The database is away: keep trusting what it said last, and ask again later.
        entry.recheck_at = now + _recheck_seconds()
        return entry.principal
    with _keys_lock:
        if fresh is None:
            _keys.pop(key_hash, None)
            if len(_unknown) >= MAX_UNKNOWN_KEYS:
                _unknown.clear()
            _unknown[key_hash] = now + _negative_seconds()
            return None
        if len(_keys) >= MAX_CACHED_KEYS:
            _keys.clear()
        _keys[key_hash] = fresh
        _unknown.pop(key_hash, None)
    return fresh.principal


def principal_if_fresh(raw: str) -> KeyPrincipal | None:
    """A known key's principal when no recheck is due, else None: memory only, never the
    database (the WSGI lane leaves everything else to the ordinary path)."""
    entry = _keys.get(ApiKey.hash_key(raw))
    if entry is not None and time.monotonic() < entry.recheck_at:
        return entry.principal
    return None


def api_key_cache_clear() -> None:
    """Forget every cached key (tests; an operator revoking a leaked key can also restart)."""
    with _keys_lock:
        _keys.clear()
        _unknown.clear()


class ApiKeyAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request: Any) -> tuple[KeyPrincipal, None] | None:
        raw = raw_key_from_headers(request.META)
        if raw is None or raw.startswith(TOKEN_PREFIX):
            unauthenticated_limit(request)  # 429 before the 401 once an address floods
            return None
        try:
            principal = principal_for_key(raw, on_unknown=lambda: unauthenticated_limit(request))
        except DatabaseError:
            raise KeyStoreUnavailable() from None
        if principal is None:
            raise exceptions.AuthenticationFailed("Unknown or revoked API key.")
        return principal, None

    def authenticate_header(self, request: Any) -> str:
        return 'Bearer realm="flagsite"'


class _KeyKind(permissions.BasePermission):
    kinds: tuple[str, ...] = ()

    def has_permission(self, request: Any, view: Any) -> bool:
        principal = request.user
        if not isinstance(principal, KeyPrincipal):
            # No key at all -> 401 (DRF answers NotAuthenticated when authenticate_header is set).
            raise exceptions.NotAuthenticated("An API key is required (Authorization: Bearer …).")
        if principal.kind not in self.kinds:
            raise exceptions.PermissionDenied(
                f"This endpoint needs a {' or '.join(self.kinds)} key; "
                f"this is a {principal.kind} key."
            )
        return True


class IsServerKey(_KeyKind):
    kinds = (ApiKey.Kind.SERVER.value,)


class IsAnyKey(_KeyKind):
    kinds = (ApiKey.Kind.SERVER.value, ApiKey.Kind.CLIENT.value)
