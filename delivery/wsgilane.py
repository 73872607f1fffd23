"""The ruleset poll's steady state (`304 Not Modified`) answered in front of Django's WSGI handler.

Most SDK requests are a poll whose ETag still matches. The middleware fast lane
(delivery/fastlane.py) answers them before the UI's middleware, but Django still builds a
WSGIRequest, runs the three middleware in front of the lane and an HttpResponse whose every
header it validates: more CPU than a bare Django view spends on its whole request. This lane
answers such a poll from the WSGI environ with the headers Django's stack gave the same answer:

- It takes `GET /api/v1/sdk/ruleset` with an `If-None-Match`, a server key this process knows
  and need not recheck yet (delivery.auth), the environment's ruleset in this process with no
  check due (flags.publish), a matching ETag and a request under its key's limit (counted
  here, in the same buckets and slices as everywhere else). So the lane reads memory only:
  the once-per-interval key recheck and ruleset version check happen on the ordinary path,
  in a request Django handles (its `request_started` / `request_finished` signals look after
  the database connection those checks use). The lane uses no database connection and sends
  no request signals.
- **Headers learned, not rewritten.** The first such poll in a process (per scheme and
  `SECURE_PROXY_SSL_HEADER` value, the only request inputs that change a 304's headers on this
  server-only path: HSTS) takes the ordinary path, and the lane keeps the status line and the
  header list Django answered, with the ETag as the one slot filled per answer. So every header
  the middleware adds (security headers, CSP, `Allow`, `X-Frame-Options`, `Content-Length`, no
  CORS on a server-key path) stays the middleware's, byte for byte; a settings change
  (`setting_changed`) forgets what was learned. At most MAX_TEMPLATES variants are kept.
- Everything else takes the ordinary path (Django, then the middleware fast lane): another
  method or path, no `If-None-Match` or one that does not match (the 200 with the body), no key
  or an unknown one, a client key, a check due (above). A poll over its limit
  is counted once: the ordinary path's throttle reuses the lane's answer (`LANE_WAIT`).

`FLAGSITE_DELIVERY_FAST_LANE=false` turns this lane off with the middleware one. The delivery
tests run through it (tests/delivery/conftest.py) and tests/delivery/test_wsgilane.py compares
its answers with the ordinary path's.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings
from django.core.signals import setting_changed

from flags.publish import ruleset_if_fresh

from .auth import principal_if_fresh, raw_key_from_headers
from .common import etag_in
from .limits import key_limit_wait

RULESET = "/api/v1/sdk/ruleset"
LANE_WAIT = "flagsite.lane_wait"  # environ: the poll was counted here and refused (seconds)
CAPTURE = "flagsite.lane_capture"  # environ: (ETag, variant) of a poll whose answer to learn
MAX_TEMPLATES = 8

Headers = list[tuple[str, str]]
Variant = tuple[Any, Any]
StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


class _Meta:
    """What delivery.limits reads of a request (`.META`), without building one."""

    __slots__ = ("META",)

    def __init__(self, environ: dict[str, Any]) -> None:
        self.META = environ


class RulesetPollLane:
    def __init__(self) -> None:
        # variant -> (status line, headers before the ETag, headers after it)
        self._templates: dict[Variant, tuple[str, Headers, Headers]] = {}
        self._lock = threading.Lock()

    def forget(self) -> None:
        with self._lock:
            self._templates.clear()

    def answer(self, environ: dict[str, Any]) -> tuple[str, Headers] | None:
        """The status line and headers of this poll's 304, or None for the ordinary path."""
        header = environ.get("HTTP_IF_NONE_MATCH")
        if not header or environ.get("REQUEST_METHOD") != "GET":
            return None
        if not settings.FLAGSITE_DELIVERY_FAST_LANE:
            return None
        raw = raw_key_from_headers(environ)
        if raw is None:
            return None
        principal = principal_if_fresh(raw)
        if principal is None or principal.kind != "server":
            return None
        published = ruleset_if_fresh(principal.environment_key)
        if published is None:
            return None
        etag = published.etag
        if not etag_in(header, etag):
            return None
        variant = _variant(environ)
        template = self._templates.get(variant)
        if template is None:
            environ[CAPTURE] = (etag, variant)
            return None
        wait = key_limit_wait(principal, _Meta(environ))
        if wait is not None:
            environ[LANE_WAIT] = wait
            return None
        status, before, after = template
        return status, [*before, ("ETag", etag), *after]

    def learn(self, environ: dict[str, Any], status: str, headers: Headers) -> None:
        """Keep the ordinary path's answer to a poll `answer` asked to learn from."""
        capture = environ.pop(CAPTURE, None)
        if capture is None or not status.startswith("304 "):
            return
        etag, variant = capture
        names = [name.lower() for name, _ in headers]
        if names.count("etag") != 1:
            return
        at = names.index("etag")
        if headers[at][1] != etag:
            return
        with self._lock:
            if len(self._templates) < MAX_TEMPLATES:
                self._templates[variant] = (status, list(headers[:at]), list(headers[at + 1 :]))


def _variant(environ: dict[str, Any]) -> Variant:
    proxy = settings.SECURE_PROXY_SSL_HEADER
    return environ.get("wsgi.url_scheme"), environ.get(proxy[0]) if proxy else None


lane = RulesetPollLane()


def _setting_changed(**kwargs: Any) -> None:
    lane.forget()


setting_changed.connect(_setting_changed)


class DeliveryWSGILane:
    """WSGI middleware: `application = DeliveryWSGILane(get_wsgi_application())`."""

    def __init__(self, app: WSGIApp) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != RULESET:
            return self.app(environ, start_response)
        answer = lane.answer(environ)
        if answer is not None:
            start_response(*answer)
            return [b""]
        if CAPTURE not in environ:
            return self.app(environ, start_response)

        def learning(status: str, headers: Headers, exc_info: Any = None) -> Any:
            lane.learn(environ, status, headers)
            return start_response(status, headers, exc_info)

        return self.app(environ, learning)
