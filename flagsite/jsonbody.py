"""The one way flagsite reads JSON that comes from outside: request bodies (delivery, OFREP,
events, feedback, the management API through `JsonBodyParser`) and JSON typed into UI forms.

Python's json module recurses once per nesting level: 10,000 `[` raise RecursionError (a 500,
or worse in a thread with a small stack). `json_parse` counts the nesting before json.loads sees
the text: a pre-scan that skips string literals (so `"[[["` costs nothing) and stops at the
first level past `MAX_DEPTH`. No configuration, variant value, context or event needs more
than a handful of levels; 64 leaves room for JSON variant values (docs/security.md).

`request_body` reads a body under a byte limit and raises `BodyTooLarge` (413) instead of
Django's HTML 400 for `DATA_UPLOAD_MAX_MEMORY_SIZE`.
"""

from __future__ import annotations

import json
import re
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from rest_framework import exceptions, parsers, status
from rest_framework.utils.json import strict_constant

MAX_DEPTH = 64

# Everything but quotes and brackets, deleted with bytes.translate (C speed).
_NOT_STRUCTURE = bytes(b for b in range(256) if b not in b'"[]{}')
# One level of innermost pairs; re.sub does not rescan what it removed, so one pass peels
# exactly one level.
_INNERMOST = re.compile(rb"\[\]|\{\}")


class JsonInputError(ValueError):
    """The text is not JSON flagsite accepts. `message` is a sentence for people."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class JsonTooDeep(JsonInputError):
    pass


_OPEN = frozenset(b"[{")
_CLOSE = frozenset(b"]}")


class BodyTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "Request body too large."
    default_code = "too_large"


def nesting_depth_over(raw: bytes | str, limit: int = MAX_DEPTH) -> bool:
    """Whether arrays/objects nest deeper than `limit` anywhere in `raw` (strings skipped).

    Without running a parser: drop escaped backslashes and quotes (left to right, as JSON pairs
    them), keep only quotes and brackets, drop what lies between quotes (string contents), then
    peel innermost `[]` / `{}` pairs one level per pass. Whatever is left after `limit` passes
    is deeper than `limit`. All of it runs in C; a Python loop only counts what cannot be
    peeled (unbalanced text, which is not JSON anyway)."""
    data = raw if isinstance(raw, bytes) else raw.encode("utf-8", "surrogatepass")
    if data.count(b"[") + data.count(b"{") <= limit:  # the common case: nothing to scan
        return False
    if b"\\" in data:
        data = data.replace(b"\\\\", b"").replace(b'\\"', b"")
    data = data.translate(None, _NOT_STRUCTURE)
    structure = b"".join(data.split(b'"')[::2])  # outside string literals
    for _ in range(limit):
        peeled = _INNERMOST.sub(b"", structure)
        if not peeled:
            return False
        if len(peeled) == len(structure):  # unbalanced: count the depth plainly
            return _depth_over(peeled, limit)
        structure = peeled
    return True


def _depth_over(structure: bytes, limit: int) -> bool:
    depth = 0
    for code in structure:
        if code in _OPEN:
            depth += 1
            if depth > limit:
                return True
        elif code in _CLOSE:
            depth -= 1
    return False


def json_parse(raw: bytes | str, *, max_depth: int = MAX_DEPTH, **loads_options: Any) -> Any:
    """Parse JSON text or UTF-8 bytes; raise JsonInputError (JsonTooDeep past `max_depth`)."""
    if nesting_depth_over(raw, max_depth):
        raise JsonTooDeep(
            f"JSON nested deeper than {max_depth} levels (arrays and objects) is not accepted."
        )
    try:
        return json.loads(raw, **loads_options)
    except json.JSONDecodeError as exc:
        raise JsonInputError(
            f"Not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})."
        ) from None
    except UnicodeDecodeError:
        raise JsonInputError("Not valid JSON: the body is not UTF-8 text.") from None
    except ValueError as exc:  # e.g. NaN refused by a strict parse_constant
        raise JsonInputError(f"Not valid JSON: {exc}.") from None
    except RecursionError:  # a smaller stack than the scan assumed: still the client's fault
        raise JsonTooDeep("JSON nested too deeply is not accepted.") from None


def body_limit() -> int:
    return int(getattr(settings, "DATA_UPLOAD_MAX_MEMORY_SIZE", None) or 2_621_440)


def request_body(request: Any, *, max_bytes: int | None = None) -> bytes:
    """The raw body, or BodyTooLarge (413) when it is over `max_bytes` (default: Django's
    DATA_UPLOAD_MAX_MEMORY_SIZE, 2.5 MB). A declared Content-Length over the limit is refused
    before anything is read; one that is not a number is a JsonInputError (400)."""
    limit = body_limit() if max_bytes is None else max_bytes
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        # Django's request.body would raise ValueError (a 500); gunicorn refuses such requests
        # itself, other servers may not.
        raise JsonInputError("The Content-Length header must be a whole number of bytes.") from None
    if declared > limit:
        raise BodyTooLarge(f"The body is {declared} bytes; the limit is {limit}.")
    try:
        body = request.body
    except RequestDataTooBig:
        raise BodyTooLarge(f"The body is over the limit of {limit} bytes.") from None
    if len(body) > limit:
        raise BodyTooLarge(f"The body is {len(body)} bytes; the limit is {limit}.")
    return bytes(body)


class JsonBodyParser(parsers.JSONParser):
    """DRF's JSON parser on top of json_parse (REST_FRAMEWORK["DEFAULT_PARSER_CLASSES"]): the
    same depth limit, the body limit as a 413, and errors in the API's shape (field `body`)."""

    def parse(self, stream: Any, media_type: Any = None, parser_context: Any = None) -> Any:
        limit = body_limit()
        raw = stream.read(limit + 1) if stream is not None else b""
        if len(raw) > limit:
            raise BodyTooLarge(f"The body is over the limit of {limit} bytes.")
        # DRF 3.18 has parsers.get_encoding; djangorestframework-stubs 3.18.1 does not know it yet
        encoding: str = parsers.get_encoding(parser_context or {})  # type: ignore[attr-defined]
        if encoding.lower().replace("_", "-") not in ("utf-8", "utf8"):
            try:
                raw = raw.decode(encoding)
            except UnicodeDecodeError:
                message = f"Not valid JSON: the body is not {encoding} text."
                raise exceptions.ValidationError({"body": [message]}) from None
        options: dict[str, Any] = {"parse_constant": strict_constant} if self.strict else {}
        try:
            return json_parse(raw, **options)
        except JsonInputError as exc:
            raise exceptions.ValidationError({"body": [exc.message]}) from None
