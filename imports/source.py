"""Reading the Unleash document a person pasted or uploaded: size, JSON, shape, storable text.

Every refusal is an `ImportInputError` naming the problem in a sentence (the page shows it next
to the field). JSON goes through `flagsite.jsonbody.json_parse`, so nesting deeper than its
limit is refused before Python's parser recurses.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

from flagsite.jsonbody import JsonInputError, json_parse
from flagsite.storable import unstorable_in


class ImportInputError(ValueError):
    """`field` is the form field it is about; `status` the HTTP status (413: too large)."""

    def __init__(self, field: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.field = field
        self.message = message
        self.status = status


def max_bytes() -> int:
    return int(settings.FLAGSITE_IMPORT_MAX_BYTES)


def size_text(size: int) -> str:
    return f"{size / 1_000_000:.1f} MB" if size >= 100_000 else f"{size:,} bytes"


def import_source_read(raw: bytes | str, *, field: str) -> dict[str, Any]:
    """The Unleash client API document (`{"features": [...], "segments": [...]}`) in `raw`."""
    size = len(raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw)
    if size > max_bytes():
        raise ImportInputError(
            field,
            f"The document is {size_text(size)}; the limit is {size_text(max_bytes())}.",
            413,
        )
    if not raw.strip():
        raise ImportInputError(field, "Paste the Unleash JSON or choose a file.")
    try:
        data = json_parse(raw)
    except JsonInputError as exc:
        raise ImportInputError(field, exc.message) from None
    if not isinstance(data, dict):
        raise ImportInputError(
            field,
            f"Expected a JSON object (Unleash's GET /api/client/features answer), "
            f"got {_json_type(data)}.",
        )
    if not isinstance(data.get("features"), list):
        found = "no 'features'" if "features" not in data else _json_type(data["features"])
        raise ImportInputError(
            field,
            f"Expected 'features' to be a list (Unleash's /api/client/features shape), "
            f"found {found}.",
        )
    if "segments" in data and not isinstance(data["segments"], list | type(None)):
        raise ImportInputError(
            field, f"Expected 'segments' to be a list, found {_json_type(data['segments'])}."
        )
    problem = unstorable_in(data, "")
    if problem:
        path, message = problem
        raise ImportInputError(field, f"Text at {path or 'the top level'} {message}.")
    return data


def _json_type(value: Any) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "true/false"}
    if value is None:
        return "null"
    if isinstance(value, int | float) and not isinstance(value, bool):
        return "a number"
    return names.get(type(value), type(value).__name__)
