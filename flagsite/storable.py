"""Text the database can store. JSON may carry NUL (`\\u0000`) and lone UTF-16 surrogates
(`"\\ud800"`); PostgreSQL text cannot hold the first, UTF-8 cannot encode the second (a 500 on
save). Every place that stores text from outside checks it here: event ingestion field by field
(feedback.validation) and every change to flags, segments and environments (flags.changes), so
the API, the UI and the importer answer alike."""

from __future__ import annotations

from typing import Any


def text_unstorable(value: str) -> str | None:
    """Why PostgreSQL could not store this text (NUL characters, lone UTF-16 surrogates that
    JSON allows but UTF-8 cannot encode), or None."""
    if "\x00" in value:
        return "must not contain NUL characters (\\u0000)"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "must be valid Unicode (it contains an unpaired surrogate)"
    return None


def unstorable_in(value: Any, path: str) -> tuple[str, str] | None:
    """The first (path, problem) for unstorable text anywhere in `value` (strings, and the keys
    and values of nested lists and objects), paths like `rules[0].id`; None when all is well."""
    if isinstance(value, str):
        problem = text_unstorable(value)
        return (path, problem) if problem else None
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str) and (problem := text_unstorable(key)):
                return (path, f"has a key that {problem}")
            found = unstorable_in(item, f"{path}.{key}" if path else str(key))
            if found:
                return found
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            found = unstorable_in(item, f"{path}[{index}]")
            if found:
                return found
    return None
