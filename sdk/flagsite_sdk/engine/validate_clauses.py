"""Validation of clauses and segments (the parts flags and segments share).

Every check mirrors what the compiler needs, using the same literal parsers (literals.py), so a
definition that validates always compiles.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from .graph import Chains, chain, cycle_path, cyclic_components, longest_chains, reverse_edges
from .limits import (
    MAX_CLAUSES,
    MAX_PATTERNS,
    MAX_SEGMENT_DEPTH,
    MAX_SEGMENT_KEYS,
    MAX_SEGMENTS,
    MAX_VALUES,
)
from .literals import (
    parse_date,
    parse_network,
    parse_number,
    parse_semver,
    weight_millis,
)
from .model import ValidationError
from .operators import (
    ALL_OPS,
    CASE_INSENSITIVE_OPS,
    DATE_OPS,
    EQUALITY_OPS,
    NUMBER_OPS,
    SEMVER_OPS,
    SINGLE_VALUE_OPS,
    STRING_OPS,
    CompileError,
)
from .regex import compile_search
from .segments import bucket_by_names


class Errors:
    """Collects ValidationErrors under a path prefix such as `flags["a"].`."""

    def __init__(self, prefix: str = "") -> None:
        self.prefix = prefix
        self.items: list[ValidationError] = []

    def add(self, path: str, message: str) -> None:
        full = self.prefix + path if path else self.prefix.rstrip(".")
        self.items.append(ValidationError(full, message))


def quoted(key: Any) -> str:
    """A key for a message: JSON-quoted, with \\u escapes only if it is not valid UTF-8 (so the
    message itself can always be encoded and sent)."""
    if not isinstance(key, str):
        return repr(key)
    return json.dumps(key, ensure_ascii=not _utf8_ok(key))


def _utf8_ok(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def check_text(errors: Errors, path: str, value: Any, limit: int = 20) -> None:
    """Reports every string, object key included, that cannot be encoded as UTF-8 (a lone
    surrogate such as "\\ud800"): it could not be stored, hashed or sent to another SDK."""
    work = [(path, value)]
    found = 0
    while work and found < limit:
        where, item = work.pop()
        if isinstance(item, str):
            if not _utf8_ok(item):
                bad = next(c for c in item if 0xD800 <= ord(c) <= 0xDFFF)
                found += 1
                errors.add(
                    where,
                    f"{where or 'the text'} holds a lone surrogate (U+{ord(bad):04X}), which "
                    "cannot be encoded as UTF-8; use valid Unicode text",
                )
        elif isinstance(item, Mapping):
            for k, v in reversed(list(item.items())):
                if isinstance(k, str) and _utf8_ok(k) and k.isidentifier():
                    sub = f"{where}.{k}" if where else k
                else:
                    sub = f"{where}[{quoted(k)}]"
                if isinstance(k, str) and not _utf8_ok(k):
                    work.append((sub, k))
                work.append((sub, v))
        elif isinstance(item, list | tuple):
            work.extend((f"{where}[{i}]", v) for i, v in reversed(list(enumerate(item))))


def _literal_problem(op: str, value: Any) -> str | None:
    """Why `value` cannot be a value of `op`, or None when it can."""
    if op in EQUALITY_OPS:
        if isinstance(value, float) and not math.isfinite(value):
            return "must be a finite number"
        if not isinstance(value, str | int | float | bool):
            return "must be a string, number or boolean"
    elif op in STRING_OPS:
        if not isinstance(value, str):
            return "must be a string"
    elif op in NUMBER_OPS:
        if parse_number(value) is None:
            return f"{quoted(value)} is not a number"
    elif op in SEMVER_OPS:
        if parse_semver(value) is None:
            return f"{quoted(value)} is not a SemVer 2.0 version (like 1.2.3 or 2.0.0-rc.1)"
    elif op in DATE_OPS:
        if isinstance(value, bool) or parse_date(value) is None:
            return f"{quoted(value)} is not an RFC 3339 date-time or epoch seconds"
    elif op == "cidr":
        if parse_network(value) is None:
            return f"{quoted(value)} is not a CIDR block or IP address"
    elif op == "segment" and not isinstance(value, str):
        return "must be a segment key"
    return None


def check_clause(
    errors: Errors,
    path: str,
    owner: str,
    clause: Any,
    segments: Mapping[str, Any] | None,
) -> list[str]:
    """Checks one clause; returns the segment keys it references. `owner` names the rule or
    segment for messages, e.g. `rule "beta" (r2)`."""
    # Paths count from 0 (they index JSON), messages from 1 (they are read by people).
    where = f"{owner}, clause {int(path.rsplit('[', 1)[-1].rstrip(']')) + 1}"
    if not isinstance(clause, Mapping):
        errors.add(path, f"{where}: a clause must be an object")
        return []
    op = clause.get("op")
    if op not in ALL_OPS:
        errors.add(f"{path}.op", f"{where}: unknown operator {quoted(op)}")
        return []
    attribute = clause.get("attribute")
    if op != "segment" and (not isinstance(attribute, str) or not attribute.strip()):
        errors.add(f"{path}.attribute", f"{where}: {op} needs an attribute name")
    for flag_field in ("negate", "case_insensitive"):
        if flag_field in clause and not isinstance(clause[flag_field], bool):
            errors.add(f"{path}.{flag_field}", f"{where}: {flag_field} must be true or false")
    case_insensitive = clause.get("case_insensitive") is True
    if case_insensitive and op not in CASE_INSENSITIVE_OPS:
        errors.add(f"{path}.case_insensitive", f"{where}: {op} has no case-insensitive form")
    if op == "exists":
        return []
    values = clause.get("values")
    if not isinstance(values, list):
        errors.add(f"{path}.values", f"{where}: values must be a list")
        return []
    if op in SINGLE_VALUE_OPS and len(values) != 1:
        errors.add(f"{path}.values", f"{where}: {op} takes exactly one value")
    elif not values and op not in ("in", "not_in"):
        errors.add(f"{path}.values", f"{where}: {op} needs at least one value")
    if len(values) > MAX_VALUES:
        errors.add(f"{path}.values", f"{where}: more than {MAX_VALUES:,} values ({len(values):,})")
        return []
    if op == "regex" and len(values) > MAX_PATTERNS:
        errors.add(f"{path}.values", f"{where}: more than {MAX_PATTERNS} patterns ({len(values)})")
        return []
    referenced: list[str] = []
    for i, value in enumerate(values):
        value_path = f"{path}.values[{i}]"
        problem = _literal_problem(op, value)
        if problem is None and op == "regex":
            compiled = compile_search(value, case_insensitive)
            problem = (
                f"regular expression {quoted(value)}: {compiled}"
                if isinstance(compiled, str)
                else None
            )
        if problem is None and op == "segment":
            referenced.append(value)
            if segments is not None and value not in segments:
                problem = f"unknown segment {quoted(value)}"
        if problem is not None:
            errors.add(value_path, f"{where}, value {i + 1}: {problem}")
    return referenced


def check_percentage(errors: Errors, path: str, where: str, value: Any) -> None:
    if isinstance(value, bool) or weight_millis(value) is None:
        errors.add(
            path, f"{where}: percentage must be a number from 0 to 100 with at most 3 decimals"
        )


def check_bucket_by(errors: Errors, path: str, where: str, value: Any) -> None:
    try:
        bucket_by_names(value)
    except CompileError as exc:
        errors.add(path, f"{where}: {exc}")


class SegmentGraph:
    """Who refers to whom among the segments, with the longest chains both ways and the
    segments on cycles: computed once (linear time) for a whole ruleset."""

    def __init__(self, segments: Mapping[str, Any], *, replacing: Any = None) -> None:
        self.edges = {k: segment_references(s) for k, s in segments.items()}
        key = replacing.get("key") if isinstance(replacing, Mapping) else None
        if isinstance(key, str) and key:
            self.edges[key] = segment_references(replacing)
        self.down: Chains = longest_chains(self.edges)
        self.up: Chains = longest_chains(reverse_edges(self.edges))
        self.cyclic = {k for component in cyclic_components(self.edges) for k in component}

    def deepest_chain_through(self, key: str) -> list[str]:
        above = chain(self.up, key)
        return [*reversed(above), *chain(self.down, key)[1:]]


def validate_segment(
    segment: Mapping[str, Any], *, segments: Mapping[str, Any] | None = None
) -> list[ValidationError]:
    """Problems in one segment. `segments` maps every segment key to its definition (this one
    included or not); references to unknown segments, cycles, the nesting depth (of this
    segment and of every segment using it) and the number of segments are only checked with
    it."""
    errors = Errors()
    graph = None
    if segments is not None:
        key = segment.get("key") if isinstance(segment, Mapping) else None
        graph = SegmentGraph(segments, replacing=segment)
        count = len(segments) + (0 if key in segments else 1)
        if count > MAX_SEGMENTS:
            errors.add("key", f"this would make {count:,} segments; the limit is {MAX_SEGMENTS:,}")
    segment_errors(segment, segments, errors, graph=graph, through=True)
    return errors.items


def segment_errors(
    segment: Any,
    segments: Mapping[str, Any] | None,
    errors: Errors,
    *,
    graph: SegmentGraph | None = None,
    through: bool = False,
) -> list[ValidationError]:
    """Checks one segment. With `graph`: cycles and nesting depth (`through`: chains through
    this segment, else only the chains starting at it, as validate_ruleset checks each)."""
    if not isinstance(segment, Mapping):
        errors.add("", "a segment must be an object")
        return errors.items
    check_text(errors, "", segment)
    key = segment.get("key")
    if not isinstance(key, str) or not key:
        errors.add("key", "the segment needs a key")
        key = ""
    owner = f"segment {quoted(key)}"
    sizes = [
        len(v) for v in (segment.get("included"), segment.get("excluded")) if isinstance(v, list)
    ]
    if sum(sizes) > MAX_SEGMENT_KEYS:
        errors.add(
            "included",
            f"{owner}: included and excluded hold {sum(sizes):,} keys together, "
            f"more than {MAX_SEGMENT_KEYS:,}",
        )
    for field in ("included", "excluded"):
        keys = segment.get(field)
        if keys is None:
            continue
        if not isinstance(keys, list):
            errors.add(field, f"{owner}: {field} must be a list of keys")
            continue
        for i, k in enumerate(keys):
            if not isinstance(k, str) or not k:
                errors.add(f"{field}[{i}]", f"{owner}: {field} holds keys (non-empty strings)")
    clauses = segment.get("clauses")
    clauses = [] if clauses is None else clauses
    references: list[tuple[str, str]] = []
    if not isinstance(clauses, list):
        errors.add("clauses", f"{owner}: clauses must be a list")
        clauses = []
    if len(clauses) > MAX_CLAUSES:
        errors.add("clauses", f"{owner}: more than {MAX_CLAUSES} clauses ({len(clauses)})")
        clauses = []
    for i, clause in enumerate(clauses):
        path = f"clauses[{i}]"
        for ref in check_clause(errors, path, owner, clause, segments):
            references.append((path, ref))
            if ref == key and key:
                errors.add(path, f"{owner} cannot be defined in terms of itself")
    if segment.get("percentage") is not None:
        check_percentage(errors, "percentage", owner, segment["percentage"])
    check_bucket_by(errors, "bucket_by", owner, segment.get("bucket_by"))
    if segments is not None and key:
        if graph is None or key in graph.cyclic:
            _check_segment_cycles(errors, key, segment, segments, references)
        if graph is not None and key in graph.edges:
            _check_depth(errors, key, graph, references, through)
    return errors.items


def _check_depth(
    errors: Errors, key: str, graph: SegmentGraph, references: list[tuple[str, str]], through: bool
) -> None:
    path = graph.deepest_chain_through(key) if through else chain(graph.down, key)
    if len(path) <= MAX_SEGMENT_DEPTH:
        return
    below = path[path.index(key) + 1] if path[-1] != key else None
    where = next((p for p, ref in references if ref == below), "clauses")
    errors.add(
        where,
        f"segment {quoted(key)}: segments nested {len(path)} deep ("
        + " -> ".join(quoted(k) for k in path)
        + f"); the limit is {MAX_SEGMENT_DEPTH}",
    )


def segment_references(segment: Any) -> list[str]:
    """The segment keys a segment's clauses refer to."""
    clauses = segment.get("clauses") if isinstance(segment, Mapping) else None
    refs: list[str] = []
    if not isinstance(clauses, list):
        return refs
    for clause in clauses:
        if isinstance(clause, Mapping) and clause.get("op") == "segment":
            values = clause.get("values")
            if isinstance(values, list):
                refs.extend(v for v in values if isinstance(v, str))
    return refs


def _check_segment_cycles(
    errors: Errors,
    key: str,
    segment: Mapping[str, Any],
    segments: Mapping[str, Any],
    references: list[tuple[str, str]],
) -> None:
    edges = {k: segment_references(s) for k, s in segments.items()}
    edges[key] = [ref for _, ref in references]
    path = cycle_path(key, edges)
    if len(path) > 2:  # a direct self-reference is reported by the caller
        first = path[1]
        clause_path = next(p for p, ref in references if ref == first)
        errors.add(
            clause_path,
            f"segment {quoted(key)}: segment cycle " + " -> ".join(quoted(k) for k in path),
        )
