"""Segment membership, compiled once per segment and shared by every flag that uses it.

A membership function takes the context and the evaluation's memo (a dict that lives for one
evaluation): a segment with clauses stores its answer there, so a segment is evaluated at most
once per evaluation however many rules and segments refer to it. Without it, segments that each
use both segments of the next level took 2^levels evaluations.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from .bucketing import BUCKETS, bucket_string, hash32, utf8_safe
from .literals import weight_millis
from .operators import CompileError, attribute_getter, clause_fields, value_matcher

Memo = dict[str, Any]
Predicate = Callable[[Mapping[str, Any], Memo | None], bool]
TARGETING_KEY = "key"
# Memo keys: segments and flags (prerequisites) share one memo per evaluation.
SEGMENT_MEMO = "\x00segment:"
FLAG_MEMO = "\x00flag:"


class CompiledSegment(NamedTuple):
    member: Predicate
    included: frozenset[str]
    excluded: frozenset[str]
    # Membership is decided by the key lists alone (no clauses, no percentage), which lets the
    # flag code inline it as two set look-ups.
    lists_only: bool


def bucket_by_names(value: Any) -> tuple[str, ...]:
    """`bucket_by` as a tuple of attribute names: a name, or a list tried in order."""
    if value is None:
        return (TARGETING_KEY,)
    names = (value,) if isinstance(value, str) else value
    if (
        not isinstance(names, list | tuple)
        or not names
        or not all(isinstance(n, str) and n for n in names)
    ):
        raise CompileError("bucket_by must be an attribute name or a non-empty list of them")
    return tuple(names)


def targeting_key(value: Any) -> str | None:
    """The context's key as the string the segment lists hold (ints are accepted as decimal)."""
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def _key_set(value: Any, field: str) -> frozenset[str]:
    if value is None:
        return frozenset()
    if not isinstance(value, list) or not all(isinstance(k, str) for k in value):
        raise CompileError(f"{field} must be a list of keys (strings)")
    return frozenset(value)


class SegmentCompiler:
    """Compiles segments on demand, each once, refusing references to unknown segments and
    cycles (a segment whose clauses lead back to itself)."""

    def __init__(
        self,
        data: Mapping[str, Any],
        compiled: Mapping[str, CompiledSegment | CompileError] | None = None,
    ) -> None:
        self._data = data
        # `compiled`: segments known unchanged since an earlier compile (reused as they are).
        self._done: dict[str, CompiledSegment | CompileError] = dict(compiled or {})
        self._visiting: list[str] = []

    @property
    def compiled(self) -> dict[str, CompiledSegment | CompileError]:
        return self._done

    def get(self, key: Any) -> CompiledSegment:
        done = self._done.get(key) if isinstance(key, str) else None
        if isinstance(done, CompileError):
            raise done
        if done is not None:
            return done
        if key in self._visiting:
            cycle = " -> ".join([*self._visiting[self._visiting.index(key) :], key])
            raise CompileError(f"segment cycle: {cycle}")
        if not isinstance(key, str) or key not in self._data:
            raise CompileError(f"unknown segment {key!r}")
        self._visiting.append(key)
        try:
            result: CompiledSegment | CompileError = self._compile(key, self._data[key])
        except CompileError as exc:
            result = CompileError(f"segment {key!r}: {exc}")
        finally:
            self._visiting.pop()
        self._done[key] = result
        if isinstance(result, CompileError):
            raise result
        return result

    def _compile(self, key: str, segment: Any) -> CompiledSegment:
        if not isinstance(segment, Mapping):
            raise CompileError("a segment must be an object")
        included = _key_set(segment.get("included"), "included")
        excluded = _key_set(segment.get("excluded"), "excluded")
        clauses = segment.get("clauses") or []
        if not isinstance(clauses, list):
            raise CompileError("clauses must be a list")
        predicates = [clause_predicate(c, self) for c in clauses]
        percentage = segment.get("percentage")
        millis = None if percentage is None else weight_millis(percentage)
        if percentage is not None and millis is None:
            raise CompileError(f"percentage {percentage!r} is not 0..100 with <= 3 decimals")
        # Dotted names read nested attributes, as in clauses and in a flag's bucket_by (the
        # reference interpreter, written from the docs, showed segments reading only the
        # literal key).
        getters = [attribute_getter(n) for n in bucket_by_names(segment.get("bucket_by"))]
        has_rules = bool(predicates) or millis is not None
        salt = utf8_safe(key) + "."
        memo_key = SEGMENT_MEMO + key

        def in_lists(ctx: Mapping[str, Any], memo: Memo | None = None) -> bool:
            k = targeting_key(ctx.get(TARGETING_KEY))
            return k is not None and k not in excluded and k in included

        if not has_rules:
            return CompiledSegment(in_lists, included, excluded, True)

        def decide(ctx: Mapping[str, Any], memo: Memo) -> bool:
            k = targeting_key(ctx.get(TARGETING_KEY))
            if k is not None:
                if k in excluded:
                    return False
                if k in included:
                    return True
            for predicate in predicates:
                if not predicate(ctx, memo):
                    return False
            if millis is None:
                return True
            for get in getters:
                value = get(ctx)
                if value is not None:
                    return hash32(salt + bucket_string(value), 0, False) % BUCKETS < millis
            return False

        def member(ctx: Mapping[str, Any], memo: Memo | None = None) -> bool:
            if memo is None:
                memo = {}
            found = memo.get(memo_key)
            if found is None:
                found = memo[memo_key] = decide(ctx, memo)
            return found

        return CompiledSegment(member, included, excluded, False)


def clause_predicate(clause: Any, segments: SegmentCompiler) -> Predicate:
    """One clause as a function of the whole context (used in segments; flags inline more)."""
    op, attribute, values, negate, case_insensitive = clause_fields(clause)
    if op == "segment":
        members = [segments.get(k).member for k in values]

        def in_any(ctx: Mapping[str, Any], memo: Memo | None) -> bool:
            return any(m(ctx, memo) for m in members) is not negate

        return in_any
    get = attribute_getter(attribute)
    match = value_matcher(op, attribute, values, case_insensitive)
    if negate:
        return lambda ctx, memo: not match(get(ctx))
    return lambda ctx, memo: match(get(ctx))
