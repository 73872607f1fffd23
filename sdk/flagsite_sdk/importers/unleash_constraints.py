"""Unleash constraints and regular expressions -> flagsite clauses (see importers/unleash.py).

Unleash evaluates a constraint it cannot understand (an unknown operator, a literal that does
not parse, a regex RE2 refuses) as false. Such a constraint becomes a clause that can never
match, `{"attribute": ..., "op": "in", "values": []}`, so the rule stays visible and behaves
exactly as in Unleash; a warning says why.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from ..engine.literals import parse_date, parse_network, parse_number, parse_semver

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
# current time, as Unleash's does).
_ATTRIBUTES = {"currentTime": "now"}


def attribute_name(context_name: str) -> str:
    return _ATTRIBUTES.get(context_name, context_name)


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
        values = [translate_regex(values[0])]
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
        try:
            re.compile(translate_regex(values[0]), re.IGNORECASE if case_insensitive else 0)
        except (UnsupportedRegex, re.error) as exc:
            return f"regular expression {values[0]!r} is not usable ({exc})"
    elif operator == "IN_CIDR":
        bad = [v for v in values if parse_network(v) is None]
        if bad:
            warn(f"IN_CIDR: ignoring values that are not CIDR blocks or addresses: {bad}")
        if len(bad) == len(values):
            return "it has no valid CIDR block"
    elif not all(isinstance(v, str) for v in values):
        return "its values are not strings"
    return None


class UnsupportedRegex(ValueError):
    """A construct RE2 (Unleash's regex dialect) refuses, or that Python's re cannot express."""


_POSIX_CLASSES = {
    "alpha": "a-zA-Z",
    "digit": "0-9",
    "alnum": "0-9A-Za-z",
    "upper": "A-Z",
    "lower": "a-z",
    "space": "\\t\\n\\v\\f\\r ",
    "blank": " \\t",
    "word": "0-9A-Za-z_",
    "xdigit": "0-9A-Fa-f",
    "punct": re.escape("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"),
    "cntrl": "\\x00-\\x1f\\x7f",
    "print": " -~",
    "graph": "!-~",
    "ascii": "\\x00-\\x7f",
}
_FLAG_GROUP = re.compile(r"\(\?([a-zA-Z]*)(?:-([a-zA-Z]*))?([:)])")
_REFUSED_GROUPS = ("(?=", "(?!", "(?<=", "(?<!", "(?>", "(?(", "(?#", "(?P=")


def translate_regex(pattern: str) -> str:
    """An RE2 pattern (what Unleash accepts) as an equivalent Python `re` pattern.

    Python refuses inline flags such as `(?i)` after the start of a pattern and knows no POSIX
    classes; RE2 refuses look-arounds and back-references (Python would run them). So flag
    groups become scoped groups up to the end of their enclosing group, repeated after each `|`
    at that level (RE2 semantics), POSIX classes become ranges, `\\z` becomes `\\Z`, and
    anything RE2 would refuse raises UnsupportedRegex.
    """
    out: list[str] = []
    frames: list[list[str]] = [[]]  # per open group: the scoped flag groups opened in it
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        if c == "\\":
            if i + 1 >= n:
                raise UnsupportedRegex("trailing backslash")
            escaped = pattern[i + 1]
            if escaped in "123456789kpPQEC":
                raise UnsupportedRegex(f"\\{escaped} is not supported")
            out.append("\\Z" if escaped == "z" else pattern[i : i + 2])
            i += 2
        elif c == "[":
            end, body = _char_class(pattern, i)
            out.append(body)
            i = end
        elif c == "(":
            i = _open_group(pattern, i, out, frames)
        elif c == ")":
            if len(frames) == 1:
                raise UnsupportedRegex("unbalanced parenthesis")
            out.append(")" * len(frames.pop()) + ")")
            i += 1
        elif c == "|":
            active = frames[-1]
            out.append(")" * len(active) + "|" + "".join(active))
            i += 1
        else:
            out.append(c)
            i += 1
    if len(frames) != 1:
        raise UnsupportedRegex("unbalanced parenthesis")
    out.append(")" * len(frames[0]))
    return "".join(out)


def _open_group(pattern: str, i: int, out: list[str], frames: list[list[str]]) -> int:
    if not pattern.startswith("(?", i):
        frames.append([])
        out.append("(")
        return i + 1
    if pattern.startswith(_REFUSED_GROUPS, i):
        raise UnsupportedRegex("look-arounds, atomic groups and back-references are not RE2")
    if pattern.startswith("(?P<", i) or pattern.startswith("(?<", i):
        frames.append([])
        out.append("(?P<")
        return i + (4 if pattern.startswith("(?P<", i) else 3)
    match = _FLAG_GROUP.match(pattern, i)
    if match is None:
        raise UnsupportedRegex(f"unknown group syntax at {pattern[i : i + 4]!r}")
    on, off, end = match.group(1), match.group(2) or "", match.group(3)
    if set(on + off) - set("ims"):
        raise UnsupportedRegex(f"flags {on + off!r} are not supported")
    scoped = "(?" + on + (f"-{off}" if off else "") + ":"
    if end == ":":
        frames.append([])
    else:
        # A bare flag group: scope it to the rest of the enclosing group.
        frames[-1].append(scoped)
    out.append(scoped)
    return match.end()


def _char_class(pattern: str, start: int) -> tuple[int, str]:
    """The class starting at `start` ([...]) with POSIX classes expanded; (end index, text)."""
    out = ["["]
    i = start + 1
    if i < len(pattern) and pattern[i] == "^":
        out.append("^")
        i += 1
    if i < len(pattern) and pattern[i] == "]":
        out.append("\\]")
        i += 1
    while i < len(pattern):
        c = pattern[i]
        if c == "\\" and i + 1 < len(pattern):
            out.append(pattern[i : i + 2])
            i += 2
        elif pattern.startswith("[:", i):
            close = pattern.find(":]", i + 2)
            name = pattern[i + 2 : close] if close != -1 else ""
            if name not in _POSIX_CLASSES:
                raise UnsupportedRegex(f"unknown class [:{name}:]")
            out.append(_POSIX_CLASSES[name])
            i = close + 2
        elif c == "[":
            out.append("\\[")
            i += 1
        elif c == "]":
            out.append("]")
            return i + 1, "".join(out)
        else:
            out.append(c)
            i += 1
    raise UnsupportedRegex("unterminated character class")
