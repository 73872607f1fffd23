"""The reference interpreter: docs/ruleset.md read literally, slow and plain.

    reference_evaluate(data, "llm-model", {"key": "user-123"}) -> Evaluation

It walks the ruleset JSON on every call: no compilation, no generated code, no inlining, no
memo. It exists to check the fast engine (compiler.py + codegen.py): the differential property
test (tests/engine/test_differential.py) runs random rulesets and contexts through both and
requires the same Evaluation, and the shared JSON cases (tests/engine/spec/) run against both.

It is defined for rulesets that pass `validate_ruleset` (what the server publishes); on broken
data it answers ERROR/GENERAL where it trips, which is not always where the compiler would. It
shares with the engine only the definitions the spec itself names: the literal parsers
(literals.py), the regex dialect (regex.py) and the bucketing formulas (bucketing.py).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from .bucketing import BUCKETS, bucket, unleash_normalized
from .literals import (
    parse_address,
    parse_date,
    parse_network,
    parse_number,
    parse_semver,
    weight_millis,
)
from .model import (
    DEFAULT,
    DISABLED,
    GENERAL_ERROR_RESULT,
    NOT_FOUND_RESULT,
    SPLIT,
    STATIC,
    TARGETING_MATCH,
    Evaluation,
)
from .regex import compile_search

UNLEASH_VARIANT_SEED = 86028157


class _Broken(Exception):
    """The definition cannot be evaluated: the flag answers ERROR/GENERAL."""


def reference_evaluate(data: Mapping[str, Any], flag_key: str, context: Any) -> Evaluation:
    """What docs/ruleset.md says `evaluate` returns."""
    flags = data.get("flags") or {}
    if flag_key not in flags:
        return NOT_FOUND_RESULT
    if context is None:
        context = {}
    if not isinstance(context, Mapping):
        return GENERAL_ERROR_RESULT
    try:
        return _Evaluator(data, context).flag(flag_key, depth=0)
    except Exception:
        return GENERAL_ERROR_RESULT


class _Evaluator:
    def __init__(self, data: Mapping[str, Any], context: Mapping[str, Any]) -> None:
        self.flags = data.get("flags") or {}
        self.segments = data.get("segments") or {}
        self.context = context

    # --- flags -------------------------------------------------------------------------------

    def flag(self, key: str, depth: int) -> Evaluation:
        if depth > 32:
            raise _Broken("prerequisites nested too deep")
        flag = self.flags[key]
        variants = {v["key"]: v.get("value") for v in flag["variants"]}

        def result(variant: str, reason: str, rule_id: str | None) -> Evaluation:
            return Evaluation(variants[variant], variant, reason, rule_id, None)

        if not flag["enabled"]:
            return result(flag["off_variant"], DISABLED, None)
        for prerequisite in flag.get("prerequisites") or []:
            required = prerequisite["flag"]
            # A missing flag never meets a prerequisite.
            served = self.flag(required, depth + 1).variant if required in self.flags else None
            if served not in prerequisite["variants"]:
                return result(flag["off_variant"], DISABLED, f"prerequisite:{required}")
        salt = flag.get("salt") or flag["key"]
        rules = flag.get("rules") or []
        for rule in rules:
            if not all(self.clause(c) for c in rule.get("clauses") or []):
                continue
            rollout = rule.get("rollout")
            if rollout is not None and not self.admitted(rollout, f"{salt}:rollout:{rule['id']}"):
                continue
            variant, reason = self.serve(rule["serve"], salt, TARGETING_MATCH)
            return result(variant, reason, rule["id"])
        variant, reason = self.serve(flag["default"], salt, DEFAULT if rules else STATIC)
        return result(variant, reason, "default")

    def serve(self, serve: Mapping[str, Any], salt: str, fixed_reason: str) -> tuple[str, str]:
        if "variant" in serve:
            return serve["variant"], fixed_reason
        split = serve["split"]
        value = self.first_present(serve.get("bucket_by"))
        if value is None:
            return split[0]["variant"], SPLIT  # no bucketing attribute: the first variant
        weights = [_millis(entry["weight"]) for entry in split]
        spec = serve.get("hash")
        if spec is None:
            # Variant i owns buckets [c_(i-1), c_i): the first whose upper bound is above.
            b = bucket(serve.get("salt") or salt, value)
            cumulative = 0
            for entry, weight in zip(split, weights, strict=True):
                cumulative += weight
                if b < cumulative:
                    return entry["variant"], SPLIT
            raise _Broken("weights do not add up to 100")
        total = spec.get("total", 100)
        n = unleash_normalized(
            spec["group_id"], value, spec.get("seed", UNLEASH_VARIANT_SEED), total
        )
        cumulative = 0
        for entry, weight in zip(split, weights, strict=True):
            cumulative += weight
            if (cumulative * total + BUCKETS // 2) // BUCKETS >= n:
                return entry["variant"], SPLIT
        raise _Broken("weights do not add up to 100")

    def admitted(self, rollout: Mapping[str, Any], salt: str) -> bool:
        millis = _millis(rollout["percentage"])
        value = self.first_present(rollout.get("bucket_by"))
        if value is None:
            return False
        spec = rollout.get("hash")
        if spec is None:
            return bucket(salt, value) < millis
        total = spec.get("total", 100)
        n = unleash_normalized(spec["group_id"], value, spec.get("seed", 0), total)
        return bool(n - 1 < millis * total // BUCKETS)

    def first_present(self, bucket_by: Any) -> Any:
        names = (
            ["key"]
            if bucket_by is None
            else [bucket_by]
            if isinstance(bucket_by, str)
            else bucket_by
        )
        for name in names:
            value = self.attribute(name)
            if value is not None:
                return value
        return None

    # --- segments ----------------------------------------------------------------------------

    def in_segment(self, key: str, depth: int = 0) -> bool:
        if key not in self.segments or depth > 64:
            raise _Broken(f"unknown segment {key!r} (or a cycle)")
        segment = self.segments[key]
        targeting_key = self.context.get("key")
        if isinstance(targeting_key, int) and not isinstance(targeting_key, bool):
            targeting_key = str(targeting_key)
        if isinstance(targeting_key, str):
            if targeting_key in (segment.get("excluded") or []):
                return False
            if targeting_key in (segment.get("included") or []):
                return True
        clauses = segment.get("clauses") or []
        percentage = segment.get("percentage")
        if not clauses and percentage is None:
            return False
        if not all(self.clause(c, depth + 1) for c in clauses):
            return False
        if percentage is None:
            return True
        value = self.first_present(segment.get("bucket_by"))
        return value is not None and bucket(key, value) < _millis(percentage)

    # --- clauses -----------------------------------------------------------------------------

    def clause(self, clause: Mapping[str, Any], depth: int = 0) -> bool:
        op = clause["op"]
        values = clause.get("values") or []
        if op == "segment":
            matched = any(self.in_segment(k, depth) for k in values)
        else:
            matched = self.attribute_clause(op, clause["attribute"], values, clause)
        return not matched if clause.get("negate") is True else matched

    def attribute_clause(
        self, op: str, attribute: str, values: list[Any], clause: Mapping[str, Any]
    ) -> bool:
        value = self.attribute(attribute)
        if op == "exists":
            return value is not None
        if value is None:
            if op in ("date_before", "date_after") and attribute == "now":
                value = time.time()
            else:
                return op == "not_in"  # missing: only not_in matches
        case_insensitive = clause.get("case_insensitive") is True
        items = value if isinstance(value, list | tuple) else [value]
        is_list = isinstance(value, list | tuple)
        if op == "not_in":
            found = any(x is not None and _scalar("in", x, values, case_insensitive) for x in items)
            return not found
        if is_list:
            return any(x is not None and _scalar(op, x, values, case_insensitive) for x in items)
        return _scalar(op, value, values, case_insensitive)

    def attribute(self, name: str) -> Any:
        """A context attribute; `a.b` is the key "a.b" when present, else a nested path."""
        value = self.context.get(name)
        if value is not None or "." not in name:
            return value
        current: Any = self.context
        for part in name.split("."):
            if not isinstance(current, Mapping):
                return None
            current = current.get(part)
        return current


def _scalar(op: str, x: Any, values: list[Any], case_insensitive: bool) -> bool:
    """One present, non-list attribute value against the clause's values."""
    if op in ("in", "eq"):
        candidates = values[:1] if op == "eq" else values
        return any(_json_equal(x, v, case_insensitive) for v in candidates)
    if op in ("contains", "starts_with", "ends_with"):
        if not isinstance(x, str):
            return False
        text = x.casefold() if case_insensitive else x
        for v in values:
            needle = v.casefold() if case_insensitive else v
            if op == "contains" and needle in text:
                return True
            if op == "starts_with" and text.startswith(needle):
                return True
            if op == "ends_with" and text.endswith(needle):
                return True
        return False
    if op == "regex":
        if not isinstance(x, str):
            return False
        for pattern in values:
            search = compile_search(pattern, case_insensitive)
            if isinstance(search, str):
                raise _Broken(search)
            if search(x):
                return True
        return False
    if op.startswith("num_"):
        return _compare(op[4:], parse_number(x), parse_number(values[0]))
    if op.startswith("semver_"):
        return _compare(op[7:], parse_semver(x), parse_semver(values[0]))
    if op in ("date_before", "date_after"):
        return _compare("lt" if op == "date_before" else "gt", parse_date(x), parse_date(values[0]))
    if op == "cidr":
        address = parse_address(x)
        return address is not None and any(address in parse_network(v) for v in values)  # type: ignore[operator]
    raise _Broken(f"unknown operator {op!r}")


def _json_equal(x: Any, v: Any, case_insensitive: bool) -> bool:
    """JSON equality: strings with strings, booleans with booleans, numbers with numbers."""
    if isinstance(x, str) and isinstance(v, str):
        return x.casefold() == v.casefold() if case_insensitive else x == v
    if isinstance(x, bool) or isinstance(v, bool):
        return isinstance(x, bool) and isinstance(v, bool) and x == v
    if isinstance(x, int | float) and isinstance(v, int | float):
        return x == v
    return False


def _compare(how: str, left: Any, right: Any) -> bool:
    if left is None or right is None:
        return False
    return bool(
        {
            "eq": left == right,
            "lt": left < right,
            "lte": left <= right,
            "gt": left > right,
            "gte": left >= right,
        }[how]
    )


def _millis(weight: Any) -> int:
    millis = weight_millis(weight)
    if millis is None or isinstance(weight, bool):
        raise _Broken(f"bad weight or percentage {weight!r}")
    return millis
