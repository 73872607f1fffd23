"""Clause operators: each clause becomes a plain function of the attribute's value.

The semantics are docs/ruleset.md's "Clauses" table. Everything here runs at compile time
except the returned closures; the flag code generator (codegen.py) calls them, or inlines the
fastest cases itself.
"""

from __future__ import annotations

import operator
import time
from collections.abc import Callable, Mapping
from typing import Any

from .literals import (
    parse_address,
    parse_date,
    parse_network,
    parse_number,
    parse_semver,
)
from .regex import compile_search

Match = Callable[[Any], bool]
Getter = Callable[[Mapping[str, Any]], Any]

EQUALITY_OPS = frozenset({"in", "not_in", "eq"})
STRING_OPS = frozenset({"contains", "starts_with", "ends_with"})
NUMBER_OPS = {
    "num_eq": operator.eq,
    "num_lt": operator.lt,
    "num_lte": operator.le,
    "num_gt": operator.gt,
    "num_gte": operator.ge,
}
SEMVER_OPS = {
    "semver_eq": operator.eq,
    "semver_lt": operator.lt,
    "semver_lte": operator.le,
    "semver_gt": operator.gt,
    "semver_gte": operator.ge,
}
DATE_OPS = {"date_before": operator.lt, "date_after": operator.gt}
SINGLE_VALUE_OPS = frozenset({"eq", *NUMBER_OPS, *SEMVER_OPS, *DATE_OPS})
CASE_INSENSITIVE_OPS = frozenset({*EQUALITY_OPS, *STRING_OPS, "regex"})
ALL_OPS = frozenset(
    {*EQUALITY_OPS, *STRING_OPS, *NUMBER_OPS, *SEMVER_OPS, *DATE_OPS}
    | {"regex", "cidr", "exists", "segment"}
)
NOW_ATTRIBUTE = "now"


class CompileError(ValueError):
    """A definition the engine cannot evaluate; the flag it belongs to evaluates to ERROR."""


def attribute_getter(attribute: str) -> Getter:
    """Reads an attribute; `user.plan` is the key "user.plan" if present, else a nested path."""
    if "." not in attribute:
        return lambda ctx: ctx.get(attribute)
    parts = attribute.split(".")

    def get_path(ctx: Mapping[str, Any]) -> Any:
        value = ctx.get(attribute)
        if value is not None:
            return value
        current: Any = ctx
        for part in parts:
            if not isinstance(current, Mapping):
                return None
            current = current.get(part)
        return current

    return get_path


def _equality_test(values: list[Any], case_insensitive: bool) -> Match:
    # JSON equality: a bool never equals a number, a number never equals its string.
    strings = frozenset(
        (v.casefold() if case_insensitive else v) for v in values if isinstance(v, str)
    )
    bools = frozenset(v for v in values if isinstance(v, bool))
    numbers = frozenset(v for v in values if isinstance(v, int | float) and not isinstance(v, bool))

    def test(v: Any) -> bool:
        if isinstance(v, str):
            return (v.casefold() if case_insensitive else v) in strings
        if isinstance(v, bool):
            return v in bools
        if isinstance(v, int | float):
            return v in numbers
        return False

    return test


def _string_test(op: str, values: list[Any], case_insensitive: bool) -> Match:
    needles = tuple((v.casefold() if case_insensitive else v) for v in values)
    if not all(isinstance(v, str) for v in needles):
        raise CompileError(f"{op} compares strings; every value must be a string")

    def prepare(v: Any) -> str | None:
        if not isinstance(v, str):
            return None
        return v.casefold() if case_insensitive else v

    if op == "starts_with":
        return lambda v: (s := prepare(v)) is not None and s.startswith(needles)
    if op == "ends_with":
        return lambda v: (s := prepare(v)) is not None and s.endswith(needles)
    return lambda v: (s := prepare(v)) is not None and any(n in s for n in needles)


def _regex_test(values: list[Any], case_insensitive: bool) -> Match:
    searches = []
    for pattern in values:
        search = compile_search(pattern, case_insensitive)
        if isinstance(search, str):
            raise CompileError(f"regex {pattern!r}: {search}")
        searches.append(search)
    return lambda v: isinstance(v, str) and any(search(v) for search in searches)


def _ordered_test(
    op: str, literal: Any, parse: Callable[[Any], Any], compare: Callable[[Any, Any], bool]
) -> Match:
    bound = parse(literal)
    if bound is None:
        raise CompileError(f"{op}: {literal!r} is not a valid value for this operator")
    return lambda v: (x := parse(v)) is not None and compare(x, bound)


def _cidr_test(values: list[Any]) -> Match:
    networks = []
    for value in values:
        network = parse_network(value)
        if network is None:
            raise CompileError(f"cidr: {value!r} is not a CIDR block or IP address")
        networks.append(network)

    def test(v: Any) -> bool:
        address = parse_address(v)
        return address is not None and any(address in n for n in networks)

    return test


def scalar_test(op: str, values: list[Any], case_insensitive: bool) -> Match:
    """The test of one present, non-list attribute value (for `not_in`: the `in` test)."""
    if op in EQUALITY_OPS:
        return _equality_test(values[:1] if op == "eq" else values, case_insensitive)
    if op in STRING_OPS:
        return _string_test(op, values, case_insensitive)
    if op == "regex":
        return _regex_test(values, case_insensitive)
    if op in NUMBER_OPS:
        return _ordered_test(op, values[0], parse_number, NUMBER_OPS[op])
    if op in SEMVER_OPS:
        return _ordered_test(op, values[0], parse_semver, SEMVER_OPS[op])
    if op in DATE_OPS:
        return _ordered_test(op, values[0], parse_date, DATE_OPS[op])
    if op == "cidr":
        return _cidr_test(values)
    raise CompileError(f"unknown operator {op!r}")


def value_matcher(op: str, attribute: str, values: list[Any], case_insensitive: bool) -> Match:
    """The full clause semantics (before `negate`) as a function of the attribute's value.

    Missing (or null) never matches, except `not_in`, which is exactly the negation of `in`, so
    a missing attribute matches it, as in Unleash. A list matches if any element matches (for
    `not_in`: if no element is in `values`).
    """
    if op == "exists":
        return lambda v: v is not None
    test = scalar_test(op, values, case_insensitive)
    invert = op == "not_in"
    defaults_to_now = op in DATE_OPS and attribute == NOW_ATTRIBUTE

    def match(v: Any) -> bool:
        if v is None:
            if not defaults_to_now:
                return invert
            v = time.time()
        if isinstance(v, list | tuple):
            found = any(x is not None and test(x) for x in v)
        else:
            found = test(v)
        return found is not invert

    return match


def clause_fields(clause: Any) -> tuple[str, str, list[Any], bool, bool]:
    """(op, attribute, values, negate, case_insensitive), checked enough to compile safely."""
    if not isinstance(clause, Mapping):
        raise CompileError("a clause must be an object")
    op = clause.get("op")
    if op not in ALL_OPS:
        raise CompileError(f"unknown operator {op!r}")
    attribute = clause.get("attribute")
    if op != "segment" and (not isinstance(attribute, str) or not attribute):
        raise CompileError(f"{op} needs an attribute name")
    values = clause.get("values", [])
    if not isinstance(values, list):
        raise CompileError("values must be a list")
    if op in SINGLE_VALUE_OPS and not values:
        raise CompileError(f"{op} needs a value")
    case_insensitive = clause.get("case_insensitive") is True
    return op, attribute or "", values, clause.get("negate") is True, case_insensitive
