"""One error shape for every API response: {"error": {"code", "message", "fields"}}.

Clients (and people reading curl output) get the field and the problem, never a stack trace.

Outages are answered, not crashed on: a database that cannot be reached (OperationalError,
InterfaceError) is a JSON 503 with `Retry-After` (FLAGSITE_OUTAGE_RETRY_AFTER), so SDKs and the
feedback widget keep their events and retry; every 503 carries that header. A body over Django's
DATA_UPLOAD_MAX_MEMORY_SIZE is a JSON 413, not Django's HTML 400.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import InterfaceError, OperationalError
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from flagsite.jsonbody import BodyTooLarge

logger = logging.getLogger(__name__)


class ServiceUnavailable(exceptions.APIException):
    status_code = 503
    default_detail = "The database is unreachable; try again shortly (see Retry-After)."
    default_code = "unavailable"


def _flatten(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            # DRF reports a list's items by index ({0: ...}): write them like `variants[0]`.
            if isinstance(key, int):
                name = f"{prefix}[{key}]"
            else:
                name = f"{prefix}.{key}" if prefix else str(key)
            if key == "non_field_errors":
                name = prefix or "non_field_errors"
            for k, v in _flatten(value, name).items():
                out.setdefault(k, []).extend(v)
    elif isinstance(detail, list):
        if all(not isinstance(item, dict | list) for item in detail):
            out[prefix or "non_field_errors"] = [str(item) for item in detail]
        else:
            for index, item in enumerate(detail):
                for k, v in _flatten(item, f"{prefix}[{index}]").items():
                    out.setdefault(k, []).extend(v)
    else:
        out[prefix or "non_field_errors"] = [str(detail)]
    return out


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, OperationalError | InterfaceError):
        logger.error("database unreachable, answering 503: %s", exc)
        exc = ServiceUnavailable()
    elif isinstance(exc, RequestDataTooBig):
        exc = BodyTooLarge("The body is over the size limit of this endpoint.")
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if response.status_code == 503 and "Retry-After" not in response:
        response["Retry-After"] = str(getattr(settings, "FLAGSITE_OUTAGE_RETRY_AFTER", 5))
    if isinstance(exc, exceptions.ValidationError):
        fields = _flatten(exc.detail)
        first = next(iter(fields.items()), ("", ["invalid input"]))
        message = f"{first[0]}: {first[1][0]}" if first[0] else first[1][0]
        response.data = {"error": {"code": "invalid", "message": message, "fields": fields}}
    else:
        detail = getattr(exc, "detail", str(exc))
        code = getattr(exc, "default_code", "error")
        if isinstance(detail, exceptions.ErrorDetail):
            code = detail.code or code
        response.data = {"error": {"code": str(code), "message": str(detail)}}
    return response
