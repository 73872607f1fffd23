"""GET /healthz: liveness + readiness for load balancers (docs/operations.md).

Anyone gets `{"status": "ok"}` or a 503 `{"status": "error", "database": "down"}`. Why the
database is down (its error names host, port and database) is told only to a caller with an
environment's server key (`Authorization: Bearer fs_srv_…`): a key the process has checked stays
known to it during an outage. A session cannot do: sessions and users live in the database that
is down. Client keys are public, so they count as strangers.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse

from delivery.auth import principal_for_key, raw_key_from_headers
from delivery.models import ApiKey

logger = logging.getLogger(__name__)


def _is_operator(request: HttpRequest) -> bool:
    """Whether the caller may see internals; False whenever that cannot be established."""
    raw = raw_key_from_headers(request.META)
    if raw is None:
        return False
    try:
        principal = principal_for_key(raw)
    except Exception:  # an unknown key, and the key store is the database that is down
        return False
    return principal is not None and principal.kind == ApiKey.Kind.SERVER


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
