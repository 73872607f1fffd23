"""Unleash constraints and regular expressions -> flagsite clauses (see importers/unleash.py).

Unleash evaluates a constraint it cannot understand (an unknown operator, a literal that does
not parse, a regex RE2 refuses) as false. Such a constraint becomes a clause that can never
match, `{"attribute": ..., "op": "in", "values": []}`, so the rule stays visible and behaves
exactly as in Unleash; a warning says why.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ..engine.literals import parse_date, parse_network, parse_number, parse_semver
from ..engine.regex import compile_search

Warn = Callable[[str], None]
Clause = dict[str, Any]

_OPS = {
    "IN": "in",
    "NOT_IN": "not_in",
    "STR_CONTAINS": "contains",
    "STR_STARTS_WITH": "starts_with",
    "STR_ENDS_WITH": "ends_with",
    "NUM_EQ": "num_eq",
    "NUM_LT": "num_lt",
    "NUM_LTE": "num_lte",
    "NUM_GT": "num_gt",
    "NUM_GTE": "num_gte",
    "DATE_AFTER": "date_after",
    "DATE_BEFORE": "date_before",
    "SEMVER_EQ": "semver_eq",
    "SEMVER_LT": "semver_lt",
    "SEMVER_LTE": "semver_lte",
    "SEMVER_GT": "semver_gt",
    "SEMVER_GTE": "semver_gte",
    "REGEX": "regex",
    "IN_CIDR": "cidr",
}
_SINGLE = {"NUM", "DATE", "SEMVER", "REGEX"}
_PARSERS: dict[str, Callable[[Any], Any]] = {
    "NUM": parse_number,
    "DATE": parse_date,
    "SEMVER": parse_semver,
}

# Unleash's context field currentTime is the engine's `now` attribute (which defaults to the
# current time, as Unleash's does); Unleash's userId is flagsite's targeting `key`, so an app
# that passes its user id as `key` (as flagsite's docs teach) keeps every imported rule.
_ATTRIBUTES = {"currentTime": "now", "userId": "key"}
# Bucketing by userId reads `key`, falling back to a `userId` attribute when `key` is absent
# (the same value hashes to the same bucket either way).
_BUCKET_NAMES = {"userId": ["key", "userId"]}


def attribute_name(context_name: str) -> str:
    return _ATTRIBUTES.get(context_name, context_name)


def bucket_names(context_name: str) -> list[str]:
    """The `bucket_by` list for an Unleash stickiness field."""
    return list(_BUCKET_NAMES.get(context_name, [attribute_name(context_name)]))


def never(attribute: str) -> Clause:
    """A clause no context matches (`in` an empty list)."""
    return {"attribute": attribute, "op": "in", "values": []}


def constraint_clause(constraint: Any, warn: Warn) -> Clause | None:
    """One constraint as a clause; None when it matches every context (nothing to check)."""
    if not isinstance(constraint, Mapping):
        warn("a constraint that is not an object never matches")
        return never("key")
    context_name = str(constraint.get("contextName") or "")
    attribute = attribute_name(context_name) or "key"
    operator = constraint.get("operator")
    inverted = constraint.get("inverted") is True
    case_insensitive = constraint.get("caseInsensitive") is True
    op = _OPS.get(operator) if isinstance(operator, str) else None
    values = constraint.get("values")
    values = list(values) if isinstance(values, list) else []
    if op is None or not isinstance(operator, str):
        warn(f"unknown operator {operator!r} on {context_name!r}: the rule never matches")
        return _negated(never(attribute), inverted)
    family = operator.split("_")[0]
    if family in _SINGLE:
        value = constraint.get("value")
        if value is None and values:
            value = values[0]
        values = [value]
    problem = _literal_problem(operator, family, values, case_insensitive, warn)
    if problem is not None:
        warn(f"{operator} on {context_name!r}: {problem}; Unleash treats it as false")
        return _negated(never(attribute), inverted)
    if op == "cidr":
        values = [v.strip() for v in values if parse_network(v) is not None]
    if op == "regex":
        # RE2 is the engine's dialect too (engine/regex.py): Unleash's patterns carry over
        # verbatim.
        values = [values[0]]
    clause: Clause = {"attribute": attribute, "op": op, "values": values}
    # Unleash ignores caseInsensitive on IN / NOT_IN; only string operators and REGEX use it.
    if case_insensitive and (op == "regex" or operator.startswith("STR_")):
        clause["case_insensitive"] = True
    return _negated(clause, inverted)


def _negated(clause: Clause, inverted: bool) -> Clause | None:
    if not inverted:
        return clause
    if clause["op"] == "in" and clause["values"] == []:
        return None  # not(never) = always: no clause needed
    return {**clause, "negate": True}


def _literal_problem(
    operator: str, family: str, values: list[Any], case_insensitive: bool, warn: Warn
) -> str | None:
    if family in _PARSERS:
        parsed = _PARSERS[family](values[0])
        if parsed is None or (family == "DATE" and not isinstance(values[0], str)):
            return f"{values[0]!r} is not a valid value"
    elif family == "STR":
        if not values or not all(isinstance(v, str) for v in values):
            return "it has no string values"
    elif operator == "REGEX":
        if not isinstance(values[0], str):
            return "the pattern is not a string"
        search = compile_search(values[0], case_insensitive)
        if isinstance(search, str):
            return f"regular expression {values[0]!r} is not usable ({search})"
    elif operator == "IN_CIDR":
        bad = [v for v in values if parse_network(v) is None]
        if bad:
            warn(f"IN_CIDR: ignoring values that are not CIDR blocks or addresses: {bad}")
        if len(bad) == len(values):
            return "it has no valid CIDR block"
    elif not all(isinstance(v, str) for v in values):
        return "its values are not strings"
    return None
