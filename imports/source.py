"""Reading the Unleash document a person pasted or uploaded: size, JSON, then the document
checks every entry point shares (imports.document: shape, limits, storable text).

Every refusal is an `ImportInputError` naming the problem in a sentence (the page shows it next
to the field). JSON goes through `flagsite.jsonbody.json_parse`, so nesting deeper than its
limit is refused before Python's parser recurses.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

from flagsite.jsonbody import JsonInputError, json_parse

from .document import ImportInputError, import_document_check

__all__ = ["ImportInputError", "import_source_read", "max_bytes", "size_text"]


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
    return import_document_check(data, field=field)
