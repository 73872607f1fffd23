"""Helpers every page uses: rendering with the user's access, loading objects, error maps."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from typing import Any

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.shortcuts import get_object_or_404

from flags.changes import Actor
from flags.models import Environment, Flag
from flags.validation import ConfigError
from flagsite.rendering import HtmxHttpRequest as HtmxHttpRequest  # re-exported for the pages
from flagsite.rendering import page as page  # re-exported for the pages


def actor(request: HttpRequest) -> Actor:
    return Actor(user=request.user)


def get_flag(key: str) -> Flag:
    return get_object_or_404(Flag, key=key)


def get_environment(key: str) -> Environment:
    return get_object_or_404(Environment, key=key)


def comment_from(request: HttpRequest) -> str:
    """A change's comment: the form field, or htmx's `hx-prompt` answer."""
    text = request.POST.get("comment") or request.headers.get("HX-Prompt") or ""
    return text.strip()[:2000]


def change_errors(exc: ValidationError) -> list[tuple[str, str]]:
    """(path, message) pairs from a refused change: a ConfigError, or a model's full_clean."""
    if isinstance(exc, ConfigError):
        return exc.errors
    if hasattr(exc, "error_dict"):
        return [(field, m) for field, msgs in exc.message_dict.items() for m in msgs]
    return [("", m) for m in exc.messages]


_INDEX = re.compile(r"^(\w+)\[(\d+)\](.*)$")


def split_errors(errors: list[tuple[str, str]]) -> dict[str, Any]:
    """Group (path, message) pairs by what they are about, for the editors' templates.

    Returns {"rules": {i: {"rule": [...], "serve": [...], "clauses": {j: [...]}}},
    "variants": {i: {"key": [...], "value": [...]}}, "prerequisites": {k: [...]},
    "default": [...], "off_variant": [...], "comment": [...], "json": [...], "other": [...]}.
    """
    grouped: dict[str, Any] = {
        "rules": defaultdict(lambda: {"rule": [], "serve": [], "clauses": defaultdict(list)}),
        "variants": defaultdict(lambda: defaultdict(list)),
        "prerequisites": defaultdict(list),
        "fields": defaultdict(list),
    }
    for path, message in errors:
        match = _INDEX.match(path or "")
        if match and match.group(1) == "rules":
            rule = grouped["rules"][int(match.group(2))]
            rest = match.group(3)
            clause = re.match(r"^\.clauses\[(\d+)\]", rest)
            if clause:
                rule["clauses"][int(clause.group(1))].append(message)
            elif rest.startswith((".serve", ".rollout")):
                rule["serve"].append(message)
            else:
                rule["rule"].append(message)
        elif match and match.group(1) == "variants":
            field = "key" if match.group(3).startswith(".key") else "value"
            grouped["variants"][int(match.group(2))][field].append(message)
        elif match and match.group(1) == "prerequisites":
            grouped["prerequisites"][int(match.group(2))].append(message)
        else:
            head = re.split(r"[.\[]", path or "", maxsplit=1)[0] or "general"
            grouped["fields"][head].append(message)
    # Plain dicts: templates look keys up, and a defaultdict would answer every lookup.
    grouped["fields"] = dict(grouped["fields"])
    return grouped


def _json_text(value: Any) -> str:
    if isinstance(value, dict | list):
        return json.dumps(value, indent=2, sort_keys=False)
    return json.dumps(value)


def diff_rows(diff: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """A json_diff made readable: JSON text per side; None where the value is absent."""
    return [
        {
            "path": change.get("path", ""),
            "before": None if change.get("before") is None else _json_text(change["before"]),
            "after": None if change.get("after") is None else _json_text(change["after"]),
        }
        for change in diff or []
    ]
