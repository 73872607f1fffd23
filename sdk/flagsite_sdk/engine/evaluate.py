"""The hot path: look the flag's function up and call it. Nothing is parsed or validated here."""

from __future__ import annotations

from typing import Any

from .model import GENERAL_ERROR_RESULT, NOT_FOUND_RESULT, Context, Evaluation, Ruleset


def evaluate(ruleset: Ruleset, flag_key: str, context: Context) -> Evaluation:
    """Evaluate one flag for one context (docs/ruleset.md "Results and reasons").

    Never raises: a missing flag is ERROR/FLAG_NOT_FOUND; broken data, or a context that is not
    a mapping, is ERROR/GENERAL. Each flag function catches its own exceptions.
    """
    try:
        function = ruleset.functions.get(flag_key)
    except Exception:  # an unhashable key, or not a Ruleset at all
        return GENERAL_ERROR_RESULT
    if function is None:
        return NOT_FOUND_RESULT
    return function(context)


def evaluate_all(ruleset: Ruleset, context: Context) -> dict[str, Evaluation]:
    """Evaluate every flag of the ruleset for one context, keyed by flag key.

    The flags share one memo (segments.py): a segment or prerequisite that several flags use is
    evaluated once for the whole call."""
    memo: dict[str, Any] = {}
    return {key: function(context, memo) for key, function in ruleset.functions.items()}
