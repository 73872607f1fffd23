"""What an Unleash document must be before it is planned, wherever it comes from (the page, the
API, `manage.py import_unleash`): its shape, its size in flags and segments, and storable text.

The converter (flagsite_sdk.importers.unleash) never raises and turns what it cannot read into
warnings, which is right for odd *values* (an unknown operator never matches, as in Unleash).
A document whose *structure* is wrong is refused instead: `"strategies": "x"` or a strategy that
is not an object would otherwise import as a flag on for everyone, and a rollout of `"abc"` as
0 %. Every refusal is an `ImportInputError` naming the path (`features[3].strategies[0].name`).
"""

from __future__ import annotations

import math
from typing import Any

from django.conf import settings

from flagsite.storable import unstorable_in

# The strategies whose percentage parameter decides who is in (Unleash's built-ins).
PERCENT_PARAMETERS = {
    "flexibleRollout": "rollout",
    "gradualRolloutUserId": "percentage",
    "gradualRolloutSessionId": "percentage",
    "gradualRolloutRandom": "percentage",
}
STRATEGY_LISTS = ("constraints", "segments", "variants")


class ImportInputError(ValueError):
    """`field` is the form field it is about; `path` where in the document (may be empty) and
    `problem` the message without that path (the API names the path as the field);
    `status` the HTTP status (413: too large)."""

    def __init__(
        self, field: str, message: str, status: int = 400, path: str = "", problem: str = ""
    ) -> None:
        super().__init__(message)
        self.field = field
        self.message = message
        self.status = status
        self.path = path
        self.problem = problem or message


def max_flags() -> int:
    return int(settings.FLAGSITE_IMPORT_MAX_FLAGS)


def max_segments() -> int:
    return int(settings.FLAGSITE_IMPORT_MAX_SEGMENTS)


def json_type(value: Any) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "true/false"}
    if value is None:
        return "null"
    if isinstance(value, int | float) and not isinstance(value, bool):
        return "a number"
    return names.get(type(value), type(value).__name__)


def import_document_check(data: Any, *, field: str) -> dict[str, Any]:
    """`data` if it is an Unleash client API document flagsite can plan; else ImportInputError."""

    def refuse(message: str, path: str = "") -> ImportInputError:
        text = f"{path}: {message}" if path else message
        return ImportInputError(field, text, path=path, problem=message)

    if not isinstance(data, dict):
        raise refuse(
            f"Expected a JSON object (Unleash's GET /api/client/features answer), "
            f"got {json_type(data)}."
        )
    problem = unstorable_in(data, "")
    if problem:
        path, message = problem
        text = f"Text at {path or 'the top level'} {message}."
        raise ImportInputError(field, text, path=path, problem=f"{message}.")
    features = data.get("features")
    if not isinstance(features, list):
        found = "no 'features'" if "features" not in data else json_type(features)
        raise refuse(
            f"Expected 'features' to be a list (Unleash's /api/client/features shape), "
            f"found {found}."
        )
    segments = data.get("segments")
    if segments is not None and not isinstance(segments, list):
        raise refuse(f"Expected 'segments' to be a list, found {json_type(segments)}.")
    if len(features) > max_flags():
        raise refuse(
            f"The document has {len(features):,} features; at most {max_flags():,} are "
            f"imported at once (FLAGSITE_IMPORT_MAX_FLAGS). Split it.",
            "features",
        )
    if len(segments or []) > max_segments():
        raise refuse(
            f"The document has {len(segments or []):,} segments; at most {max_segments():,} "
            f"are imported at once (FLAGSITE_IMPORT_MAX_SEGMENTS).",
            "segments",
        )
    for index, segment in enumerate(segments or []):
        if not isinstance(segment, dict):
            raise refuse(f"must be an object, found {json_type(segment)}.", f"segments[{index}]")
    for index, feature in enumerate(features):
        problem = _feature_problem(feature)
        if problem:
            path, message = problem
            raise refuse(message, f"features[{index}]{path}")
    return data


def _named_problem(value: Any, what: str) -> tuple[str, str] | None:
    """An Unleash feature or strategy is an object with a name."""
    if not isinstance(value, dict):
        return "", f"must be an object (an Unleash {what}), found {json_type(value)}."
    name = value.get("name")
    if not isinstance(name, str) or not name:
        return ".name", f"must be the {what}'s name (text), found {json_type(name)}."
    return None


def _feature_problem(feature: Any) -> tuple[str, str] | None:
    problem = _named_problem(feature, "feature")
    if problem:
        return problem
    strategies = feature.get("strategies")
    if strategies is None:
        return None
    if not isinstance(strategies, list):
        return ".strategies", f"must be a list of strategies, found {json_type(strategies)}."
    for index, strategy in enumerate(strategies):
        problem = _strategy_problem(strategy)
        if problem:
            return f".strategies[{index}]{problem[0]}", problem[1]
    return None


def _strategy_problem(strategy: Any) -> tuple[str, str] | None:
    problem = _named_problem(strategy, "strategy")
    if problem:
        return problem
    name = strategy["name"]
    parameters = strategy.get("parameters")
    if parameters is not None and not isinstance(parameters, dict):
        return ".parameters", f"must be an object, found {json_type(parameters)}."
    for key in STRATEGY_LISTS:
        value = strategy.get(key)
        if value is not None and not isinstance(value, list):
            return f".{key}", f"must be a list, found {json_type(value)}."
    parameter = PERCENT_PARAMETERS.get(name)
    if parameter and parameter in (parameters or {}):
        value = (parameters or {})[parameter]
        if not _is_percentage(value):
            return (
                f".parameters.{parameter}",
                f"{name} needs a percentage from 0 to 100, found {value!r:.40}.",
            )
    return None


def _is_percentage(value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return False
    try:
        number = float(value)
    except ValueError:
        return False
    return math.isfinite(number) and 0 <= number <= 100
