"""The hot endpoints' steady state answered in front of Django's WSGI handler.

The middleware fast lane (delivery/fastlane.py) answers the SDK endpoints before the UI's
middleware, but Django still builds a WSGIRequest, runs the three middleware in front of the
lane and an HttpResponse whose every header it validates, and sends its request signals: for a
ruleset poll answered 304 that was more CPU than a bare Django view spends on its whole
request. This lane answers the same requests from the WSGI environ, with the same functions
(delivery.fastlane's handlers) and the headers Django's stack gave the same kind of answer:

- **What it takes**: the fast lane's requests (`GET /api/v1/sdk/ruleset`, `POST
  /api/v1/evaluate`, `POST /ofrep/v1/evaluate/flags[/<key>]`) with a key this process knows and
  need not recheck yet (delivery.auth), the environment's ruleset in this process with no
  version check due (flags.publish), a body with a `Content-Length` within the body limit that
  parses, and the request under its key's limit (counted here, in the same buckets and slices as
  everywhere else). So the lane reads memory only: the key recheck and the ruleset version
  check (once per interval) happen on the ordinary path, in a request Django handles, whose
  `request_started` / `request_finished` signals look after the database connection those
  checks use. The lane uses no database connection and sends no request signals (the exposure
  recorder it feeds writes from its own thread).
- **Headers learned, not rewritten.** Each kind of answer (endpoint; status; with or without
  an ETag; CORS: none, `*` or the caller's origin; scheme and `SECURE_PROXY_SSL_HEADER` value,
  which decide HSTS) is first answered by the ordinary path, and the lane keeps the status line
  and the header list Django produced, with three slots filled per answer: `ETag`,
  `Content-Length` and `Access-Control-Allow-Origin`. The answer it learns from was computed and
  counted here (`LANE_ANSWER`: the fast lane middleware sends it as it is), so learning neither
  counts a request twice nor records its exposures twice. Every header the middleware adds
  (security headers, CSP, CORS, `Vary`, `Allow`, `X-Frame-Options`) stays the middleware's,
  byte for byte; a settings change (`setting_changed`) forgets what was learned; at most
  MAX_TEMPLATES kinds are kept (a flood of odd proxy header values learns nothing more).
- Everything else takes the ordinary path (Django, then the fast lane middleware, then DRF):
  other methods and paths, no key or an unknown one, a key of the wrong kind, a check due, a
  chunked or oversized body, a body that does not parse (the ordinary path's 400/413 shapes).
  A request over its limit is counted once: the ordinary path's throttle reuses the lane's
  answer (`LANE_WAIT`). A body the lane read is handed on (`wsgi.input` replaced by a copy).

`FLAGSITE_DELIVERY_FAST_LANE=false` turns this lane off with the middleware one. The delivery
tests run through it (tests/delivery/conftest.py) and tests/delivery/test_wsgilane.py compares
its answers with the ordinary path's.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings
from django.core.signals import setting_changed

from flags.publish import ruleset_if_fresh
from flagsite.jsonbody import body_limit

from .auth import principal_if_fresh, raw_key_from_headers
from .cors import cors_allowed_origin
from .fastlane import INVALID, LANE_ANSWER, LANE_WAIT, parse, route
from .limits import key_limit_wait

PREFIXES = ("/api/v1/", "/ofrep/")
CAPTURE = "flagsite.lane_capture"  # environ: what to check of the ordinary answer to learn
MAX_TEMPLATES = 32

Headers = list[tuple[str, str]]
Kind = tuple[Any, ...]
StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]
# The header slots filled per answer (lower-case names) and their index in a slot tuple.
SLOTS = {"etag": 0, "content-length": 1, "access-control-allow-origin": 2}
# One header of a learned answer: (name, fixed value, -1) or (name, "", slot index).
Template = tuple[str, list[tuple[str, str, int]]]


class _Request:
    """What the fast lane's handlers read of a request (`.META`, `.body`), without Django's."""

    __slots__ = ("META", "body")

    def __init__(self, environ: dict[str, Any], body: bytes) -> None:
        self.META = environ
        self.body = body


class DeliveryLane:
    def __init__(self) -> None:
        self._templates: dict[Kind, Template] = {}
        self._lock = threading.Lock()

    def forget(self) -> None:
        with self._lock:
            self._templates.clear()

    def kinds_learned(self) -> int:
        return len(self._templates)

    def answer(self, environ: dict[str, Any]) -> tuple[str, Headers, bytes] | None:
        """The status line, headers and body of this request's answer, or None for the
        ordinary path."""
        path = environ.get("PATH_INFO", "")
        found = route(path, environ.get("REQUEST_METHOD", ""))
        if found is None or not settings.FLAGSITE_DELIVERY_FAST_LANE:
            return None
        if settings.SECURE_SSL_REDIRECT and not _secure(environ):
            return None  # SecurityMiddleware redirects it
        handler, _, kinds = found
        raw = raw_key_from_headers(environ)
        if raw is None:
            return None
        principal = principal_if_fresh(raw)
        if principal is None or principal.kind not in kinds:
            return None
        published = ruleset_if_fresh(principal.environment_key)
        if published is None:
            return None
        body = _body(environ)
        if body is None:
            return None
        request = _Request(environ, body)
        parsed = parse(request, handler)
        if parsed is INVALID:
            return None
        wait = key_limit_wait(principal, request)
        if wait is not None:
            environ[LANE_WAIT] = wait
            return None
        status, content, etag = handler(request, principal, published, parsed)
        allow = cors_allowed_origin(path, environ.get("HTTP_ORIGIN"))
        kind = (
            path if path.startswith(PREFIXES[0]) else path.count("/"),  # OFREP: bulk or one flag
            status,
            etag is None,
            allow if allow is None or allow == "*" else "origin",
            environ.get("wsgi.url_scheme"),
            _proxy_value(environ),
        )
        slots = (etag or "", str(len(content)), allow or "")
        template = self._templates.get(kind)
        if template is None:
            environ[LANE_ANSWER] = (status, content, etag)
            environ[CAPTURE] = (kind, slots)
            return None
        line, headers = template
        return line, [(n, v if i < 0 else slots[i]) for n, v, i in headers], content

    def learn(self, environ: dict[str, Any], status: str, headers: Headers) -> None:
        """Keep the ordinary path's answer to a request `answer` computed but could not send."""
        capture = environ.pop(CAPTURE, None)
        if capture is None:
            return
        kind, slots = capture
        if not status.startswith(f"{kind[1]} "):
            return
        template: list[tuple[str, str, int]] = []
        filled = set()
        for name, value in headers:
            slot = SLOTS.get(name.lower(), -1)
            if slot < 0:
                template.append((name, value, -1))
            elif value != slots[slot] or slot in filled:
                return  # not the answer computed here: learn nothing
            else:
                template.append((name, "", slot))
                filled.add(slot)
        if filled != {i for i, value in enumerate(slots) if value}:
            return
        with self._lock:
            if len(self._templates) < MAX_TEMPLATES:
                self._templates[kind] = (status, template)


def _proxy_value(environ: dict[str, Any]) -> Any:
    proxy = settings.SECURE_PROXY_SSL_HEADER
    return environ.get(proxy[0]) if proxy else None


def _secure(environ: dict[str, Any]) -> bool:
    proxy = settings.SECURE_PROXY_SSL_HEADER
    if proxy and environ.get(proxy[0]) is not None:
        return str(environ[proxy[0]]).split(",", 1)[0].strip() == proxy[1]
    return environ.get("wsgi.url_scheme") == "https"


def _body(environ: dict[str, Any]) -> bytes | None:
    """The request body (b"" for a GET), None when the lane does not read it: no or a bad
    `Content-Length` on a POST, a chunked body, a body over the limit. A body read here is put
    back for the ordinary path."""
    if environ.get("REQUEST_METHOD") == "GET":
        return b""
    if "HTTP_TRANSFER_ENCODING" in environ:
        return None
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return None
    if length < 0 or length > body_limit():
        return None
    body = environ["wsgi.input"].read(length) if length else b""
    environ["wsgi.input"] = io.BytesIO(body)
    return body if len(body) == length else None  # short: the ordinary path reads what came


lane = DeliveryLane()


def _setting_changed(**kwargs: Any) -> None:
    lane.forget()


setting_changed.connect(_setting_changed)


class DeliveryWSGILane:
    """WSGI middleware: `application = DeliveryWSGILane(get_wsgi_application())`."""

    def __init__(self, app: WSGIApp) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if not environ.get("PATH_INFO", "").startswith(PREFIXES):
            return self.app(environ, start_response)
        answer = lane.answer(environ)
        if answer is not None:
            line, headers, body = answer
            start_response(line, headers)
            return [body]
        if CAPTURE not in environ:
            return self.app(environ, start_response)

        def learning(status: str, headers: Headers, exc_info: Any = None) -> Any:
            lane.learn(environ, status, headers)
            return start_response(status, headers, exc_info)

        return self.app(environ, learning)
