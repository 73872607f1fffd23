"""Who is limited how much on the delivery endpoints: the policy on top of delivery.ratelimit.

Client keys are public and shared by every browser of an application, so their traffic is
counted per caller IP, under a per-key ceiling sized for a whole fleet. Server keys are secret,
one per backend service: they are counted per key. Requests without a known key are counted per
caller IP *before* the key is looked up, so random keys cannot cost a database query each.
The numbers are settings (docs/security.md, "Rate limits"):

- server key (ruleset, evaluate, OFREP; events in a bucket of their own):
  `FLAGSITE_RATE_LIMIT_PER_MINUTE` per key;
- client key (evaluate, OFREP): `FLAGSITE_RATE_LIMIT_CLIENT_PER_IP` per (key, caller IP), and
  `FLAGSITE_RATE_LIMIT_CLIENT_PER_KEY` per key (the fleet's ceiling);
- feedback (any key): `FEEDBACK_RATE_LIMIT_PER_IP` per caller IP before the key is read, and
  `FEEDBACK_RATE_LIMIT_PER_KEY` per key;
- no key, an unknown key, or a key this process has not seen yet:
  `FLAGSITE_RATE_LIMIT_UNAUTHENTICATED_PER_IP` per caller IP, before any lookup.

The caller IP is REMOTE_ADDR, or behind `FLAGSITE_TRUSTED_PROXY_COUNT` trusted proxies the
address that many hops from the right of X-Forwarded-For (the one the outermost trusted proxy
saw), for every endpoint alike.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.signals import setting_changed
from rest_framework import exceptions

from .ratelimit import rate_limit_check

if TYPE_CHECKING:
    from .auth import KeyPrincipal


_proxies: int | None = None  # trusted_proxy_count(), read once (and again if a test changes it)


def trusted_proxy_count() -> int:
    """FLAGSITE_TRUSTED_PROXY_COUNT, or the deprecated FEEDBACK_PROXY_COUNT when it is unset.
    Read once: looking up an unset setting raises inside Django's settings object, which cost a
    client-key request ~10 us on every call."""
    global _proxies
    if _proxies is None:
        count = getattr(settings, "FLAGSITE_TRUSTED_PROXY_COUNT", None)
        if not count:
            count = getattr(settings, "FEEDBACK_PROXY_COUNT", 0)
        _proxies = int(count or 0)
    return _proxies


def _setting_changed(*, setting: str, **kwargs: Any) -> None:
    global _proxies
    if setting in ("FLAGSITE_TRUSTED_PROXY_COUNT", "FEEDBACK_PROXY_COUNT"):
        _proxies = None


setting_changed.connect(_setting_changed)


def client_ip(request: Any) -> str:
    """The caller's address (see the module docstring)."""
    meta = request.META
    proxies = trusted_proxy_count()
    if proxies > 0:
        hops = [h.strip() for h in meta.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        hops = [h for h in hops if h]
        if len(hops) >= proxies:
            return hops[-proxies]
    return meta.get("REMOTE_ADDR", "") or "unknown"


def _setting(name: str) -> int:
    return int(getattr(settings, name, 0) or 0)


def key_buckets(principal: KeyPrincipal, request: Any, *, scope: str) -> list[tuple[str, int]]:
    """The buckets one request of this key counts in. `scope`: "api" (ruleset, evaluate, OFREP),
    "events" or "feedback"."""
    key = principal.api_key_id
    if scope == "feedback":
        return [(f"feedback:key:{key}", _setting("FEEDBACK_RATE_LIMIT_PER_KEY"))]
    if principal.kind == "server":
        prefix = "events:" if scope == "events" else ""
        return [(f"{prefix}key:{key}", _setting("FLAGSITE_RATE_LIMIT_PER_MINUTE"))]
    return [
        (f"key:{key}:ip:{client_ip(request)}", _setting("FLAGSITE_RATE_LIMIT_CLIENT_PER_IP")),
        (f"key:{key}", _setting("FLAGSITE_RATE_LIMIT_CLIENT_PER_KEY")),
    ]


def key_limit_wait(principal: KeyPrincipal, request: Any, *, scope: str = "api") -> int | None:
    """Count this request for its key: None when allowed, else seconds to wait."""
    return rate_limit_check(key_buckets(principal, request, scope=scope))


def throttle(wait: int | None) -> None:
    if wait is not None:
        raise exceptions.Throttled(wait=wait)


def unauthenticated_limit(request: Any) -> None:
    """Count a request that has no known key against its caller IP; 429 (Throttled) when over.
    Called before the key is looked up in the database."""
    bucket = f"unauth:ip:{client_ip(request)}"
    throttle(rate_limit_check([(bucket, _setting("FLAGSITE_RATE_LIMIT_UNAUTHENTICATED_PER_IP"))]))


def ip_limit(request: Any, *, scope: str, per_minute: int) -> None:
    """A per-caller-IP limit of one endpoint (feedback: before the key is even read)."""
    throttle(rate_limit_check([(f"{scope}:ip:{client_ip(request)}", per_minute)]))
