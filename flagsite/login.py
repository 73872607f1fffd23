"""Sign-in throttling: failed passwords are counted per (account, caller IP) and per caller IP.

Why both and not per account: a per-account lockout lets anyone lock the real owner out from
anywhere by typing wrong passwords. Counting per (account, IP) stops guessing one account from one
address; counting per IP stops one address from spraying passwords over many accounts. The owner,
signing in from another address, is never affected by an attacker's failures.

Every attempt is counted *before* the password is checked (a reservation), and the count is
taken back (pair: reset, IP: decremented) when the password is right. With Redis the counts are
atomic increments, so a burst of concurrent guesses admits exactly the limit, not limit + the
number of workers. Over the limit, the pair or the address is refused for
FLAGSITE_LOGIN_LOCKOUT_SECONDS with a clear message (HTTP 429 on the login page).

If the cache is unreachable, sign-in is not throttled (and a warning is logged): a dead Redis
must not lock everyone out.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.http import HttpRequest, HttpResponse

from delivery.limits import client_ip

log = logging.getLogger(__name__)


class LoginThrottled(Exception):
    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after


@dataclass(frozen=True)
class LoginAttempt:
    pair_key: str
    ip_key: str
    counted: bool


def caller_ip(request: HttpRequest) -> str:
    """The caller's address: the one trusted-proxy rule of the whole service
    (`delivery.limits.client_ip`, FLAGSITE_TRUSTED_PROXY_COUNT)."""
    return client_ip(request)


def _digest(*parts: str) -> str:
    joined = "\x1f".join(parts).encode("utf-8", "surrogatepass")
    return hashlib.sha256(joined).hexdigest()[:32]


def _limits() -> tuple[int, int, int, int]:
    return (
        int(settings.FLAGSITE_LOGIN_FAILURES_PER_ACCOUNT_IP),
        int(settings.FLAGSITE_LOGIN_FAILURES_PER_IP),
        max(1, int(settings.FLAGSITE_LOGIN_WINDOW_SECONDS)),
        max(1, int(settings.FLAGSITE_LOGIN_LOCKOUT_SECONDS)),
    )


def _count(key: str, window: int) -> int:
    """Add one to a counter that lives `window` seconds from its first increment."""
    backend = caches["default"]
    if isinstance(backend, RedisCache):
        full_key = backend.make_and_validate_key(key)
        client: Any = backend._cache.get_client(full_key, write=True)
        pipe = client.pipeline(transaction=False)
        pipe.incr(full_key)
        pipe.expire(full_key, window, nx=True)
        count, _ = pipe.execute()
        return int(count)
    if backend.add(key, 1, timeout=window):
        return 1
    try:
        count = int(backend.incr(key))
    except ValueError:  # expired between add and incr
        backend.set(key, 1, timeout=window)
        return 1
    # Some backends' incr() resets the expiry (file, database): keep the window explicit.
    backend.touch(key, window)
    return count


def _refuse(lock_key: str, message: str) -> None:
    deadline = caches["default"].get(lock_key)
    if deadline is not None:
        wait = max(1, math.ceil(float(deadline) - time.time()))
        raise LoginThrottled(message.format(minutes=max(1, math.ceil(wait / 60))), wait)


PAIR_MESSAGE = (
    "Too many failed sign-in attempts for this account from your address. "
    "Try again in {minutes} minute(s)."
)
IP_MESSAGE = "Too many failed sign-in attempts from your address. Try again in {minutes} minute(s)."


def login_attempt_start(request: HttpRequest, username: str) -> LoginAttempt:
    """Count one attempt (a failure until it succeeds); raise LoginThrottled over a limit."""
    per_pair, per_ip, window, lockout = _limits()
    ip = caller_ip(request)
    ip_digest = _digest(ip)
    pair_digest = _digest(username.casefold(), ip)
    pair_key, ip_key = f"login:fail:pair:{pair_digest}", f"login:fail:ip:{ip_digest}"
    pair_lock, ip_lock = f"login:lock:pair:{pair_digest}", f"login:lock:ip:{ip_digest}"
    cache = caches["default"]
    try:
        _refuse(ip_lock, IP_MESSAGE)
        _refuse(pair_lock, PAIR_MESSAGE)
        pair_count = _count(pair_key, window) if per_pair > 0 else 0
        ip_count = _count(ip_key, window) if per_ip > 0 else 0
        over = [
            (lock, counter, message)
            for lock, counter, message, count, limit in (
                (ip_lock, ip_key, IP_MESSAGE, ip_count, per_ip),
                (pair_lock, pair_key, PAIR_MESSAGE, pair_count, per_pair),
            )
            if limit > 0 and count > limit
        ]
        for lock, counter, _ in over:
            # Refuse for the lockout; the count ends with it, so afterwards it starts again from
            # zero. (Not deleted now: guesses racing past the lock check must still count.)
            cache.set(lock, time.time() + lockout, timeout=lockout)
            cache.touch(counter, lockout)
    except LoginThrottled:
        raise
    except Exception:
        log.warning("login throttle: cache unreachable, not throttling", exc_info=True)
        return LoginAttempt(pair_key, ip_key, counted=False)
    if over:
        log.warning("login throttled for %r from %s", username[:150], ip)
        raise LoginThrottled(over[0][2].format(minutes=max(1, math.ceil(lockout / 60))), lockout)
    return LoginAttempt(pair_key, ip_key, counted=True)


def login_attempt_succeeded(attempt: LoginAttempt) -> None:
    """The password was right: forget this pair's failures and take back the IP's reservation."""
    if not attempt.counted:
        return
    cache = caches["default"]
    try:
        cache.delete(attempt.pair_key)
        cache.decr(attempt.ip_key)
    except ValueError:  # the IP count expired meanwhile
        pass
    except Exception:
        log.warning("login throttle: cache unreachable", exc_info=True)


class ThrottledLoginMixin:
    """For Django's AuthenticationForm and the admin's: throttle before checking the password."""

    request: HttpRequest | None
    cleaned_data: dict[str, Any]
    retry_after: int | None = None

    def clean(self) -> dict[str, Any]:
        username = self.cleaned_data.get("username")
        password = self.cleaned_data.get("password")
        if username is None or not password or self.request is None:
            return super().clean()  # type: ignore[misc]  # a mixin: super() is the form
        try:
            attempt = login_attempt_start(self.request, username)
        except LoginThrottled as exc:
            self.retry_after = exc.retry_after
            raise ValidationError(exc.message, code="throttled") from None
        cleaned: dict[str, Any] = super().clean()  # type: ignore[misc]  # a wrong password raises
        login_attempt_succeeded(attempt)
        return cleaned


class ThrottledAuthenticationForm(ThrottledLoginMixin, AuthenticationForm):
    pass


class ThrottledAdminAuthenticationForm(ThrottledLoginMixin, AdminAuthenticationForm):
    pass


class LoginView(auth_views.LoginView):
    """Django's login view with throttling; a throttled attempt answers 429 with Retry-After."""

    authentication_form = ThrottledAuthenticationForm

    def form_invalid(self, form: Any) -> HttpResponse:
        response = super().form_invalid(form)
        if form.has_error(NON_FIELD_ERRORS, "throttled"):
            response.status_code = 429
            response["Retry-After"] = str(form.retry_after or 1)
        return response
