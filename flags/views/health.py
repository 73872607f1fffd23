"""GET /healthz: liveness + readiness for load balancers (docs/operations.md).

Anyone gets `{"status": "ok"}` or a 503 `{"status": "error", "database": "down"}`. Why the
database is down (its error names host, port and database) is told only to a caller who is
authenticated as an operator: a staff or flagsite-admin session, or an environment's server key
(monitoring scripts use one; keys already checked stay known to the process during an outage,
while sessions live in the database and cannot be checked then).
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse

from flags.api.auth import principal_for_key, raw_key_from_headers
from flags.models import ApiKey, Role, user_role

logger = logging.getLogger(__name__)


def _is_operator(request: HttpRequest) -> bool:
    """Whether the caller may see internals; False whenever that cannot be established."""
    try:
        raw = raw_key_from_headers(request.META)
        if raw is not None:
            principal = principal_for_key(raw)
            return principal is not None and principal.kind == ApiKey.Kind.SERVER
        user: Any = request.user
        return bool(user.is_authenticated and (user.is_staff or user_role(user) == Role.ADMIN))
    except Exception:  # the session or key store is the database that is down
        return False


def healthz(request: HttpRequest) -> JsonResponse:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return JsonResponse({"status": "ok"})
    except Exception as exc:  # report, don't crash: load balancers read this
        logger.error("healthz: database down: %s", exc)
        body = {"status": "error", "database": "down"}
        if _is_operator(request):
            body["detail"] = str(exc)
        response = JsonResponse(body, status=503)
        response["Retry-After"] = str(getattr(settings, "FLAGSITE_OUTAGE_RETRY_AFTER", 5))
        return response
