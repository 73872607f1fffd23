"""Turns one flag definition into one specialised Python function.

Why generated code: a flag evaluation is a few dictionary look-ups and at most one hash, and in
CPython the cost is in the calls around them. Emitting each flag as straight-line code (rules as
`if` statements, the common clauses inlined, every result pre-built) makes an evaluation one call.

Every value from the definition (attribute names, keys, salts, results) reaches the generated
code through the namespace dict as a constant such as `_k12`; the source text only ever holds
names this module made up, so no data is ever interpolated into code.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Mapping
from types import CodeType, FunctionType
from typing import Any

from .bucketing import (
    BUCKETS,
    UNLEASH_VARIANT_SEED,
    bucket_string,
    hash32,
    split_boundaries,
    unleash_boundaries,
    utf8_safe,
)
from .literals import weight_millis
from .model import (
    DEFAULT,
    DEFAULT_RULE_ID,
    DISABLED,
    GENERAL_ERROR_RESULT,
    SPLIT,
    STATIC,
    TARGETING_MATCH,
    Evaluation,
    FlagFunction,
)
from .operators import CompileError, attribute_getter, clause_fields, value_matcher
from .segments import FLAG_MEMO, TARGETING_KEY, SegmentCompiler, bucket_by_names

PrerequisiteLookup = Callable[[str], FlagFunction]
# The bucketing value as hash input: an ASCII string as it is (the common case, one check),
# anything else through bucket_string (decimal ints, JSON, no lone surrogates).
_TO_TEXT = "if _bv.__class__ is not str or not _bv.isascii(): _bv = _bstr(_bv)"


class _Source:
    """The function being written: its lines and the namespace its constants live in."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.ns: dict[str, Any] = {
            "_h": hash32,
            "_bstr": bucket_string,
            "_bisect_right": bisect.bisect_right,
            "_bisect_left": bisect.bisect_left,
            "_ERR": GENERAL_ERROR_RESULT,
            "_KEY": TARGETING_KEY,
        }
        self._count = 0

    def const(self, value: Any) -> str:
        name = f"_k{self._count}"
        self._count += 1
        self.ns[name] = value
        return name

    def emit(self, indent: int, line: str) -> None:
        self.lines.append("    " * indent + line)


def hash_spec(value: Any, *, for_split: bool) -> tuple[str, int, int] | None:
    """(group_id, seed, total) of an Unleash-mode hash, or None for the native bucketing."""
    if value is None:
        return None
    if not isinstance(value, Mapping) or value.get("mode") != "unleash":
        raise CompileError(f"unknown hash {value!r} (the only mode is 'unleash')")
    group_id = value.get("group_id")
    seed = value.get("seed", UNLEASH_VARIANT_SEED if for_split else 0)
    total = value.get("total", 100)
    if not isinstance(group_id, str):
        raise CompileError("hash.group_id must be a string")
    if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed < 2**32:
        raise CompileError("hash.seed must be an unsigned 32-bit integer")
    if not isinstance(total, int) or isinstance(total, bool) or not 0 < total <= BUCKETS:
        raise CompileError(f"hash.total must be an integer in 1..{BUCKETS}")
    return group_id, seed, total


class FlagWriter:
    """Writes the function of one enabled flag."""

    def __init__(
        self, flag: Mapping[str, Any], segments: SegmentCompiler, prerequisite: PrerequisiteLookup
    ) -> None:
        self.src = _Source()
        self.segments = segments
        self.prerequisite = prerequisite
        salt = flag.get("salt") or flag.get("key")
        if not isinstance(salt, str):
            raise CompileError("the flag has no key or salt")
        self.salt = utf8_safe(salt)
        self.values = _variant_values(flag.get("variants"))
        # The targeting key is read once, up front, when rules use it (segments, bucketing).
        self.key_uses = 0
        # The evaluation's memo (segments.py) is made only for flags that use segments with
        # clauses or prerequisites: the common flags pay nothing for it.
        self.memo_uses = 0

    def result(self, variant: Any, reason: str, rule_id: str | None) -> str:
        if not isinstance(variant, str) or variant not in self.values:
            raise CompileError(f"unknown variant {variant!r}")
        return self.src.const(Evaluation(self.values[variant], variant, reason, rule_id, None))

    def write(self, flag: Mapping[str, Any]) -> FlagFunction:
        # Checked even when never served, so a bad off_variant always shows.
        self.result(flag.get("off_variant"), DISABLED, None)
        # `_m` is the evaluation's memo, passed on when this flag is another's prerequisite.
        self.src.emit(0, "def _flag(ctx, _m=None):")
        self.src.emit(1, "try:")
        self._prerequisites(flag.get("prerequisites") or [], str(flag.get("off_variant")))
        rules = flag.get("rules") or []
        if not isinstance(rules, list):
            raise CompileError("rules must be a list")
        seen: set[Any] = set()
        for rule in rules:
            if not isinstance(rule, Mapping):
                raise CompileError("a rule must be an object")
            rule_id = rule.get("id")
            if not isinstance(rule_id, str) or not rule_id or rule_id in seen:
                raise CompileError(f"rule id {rule_id!r} is missing or not unique")
            seen.add(rule_id)
            self._rule(rule, rule_id)
        fixed_reason = DEFAULT if rules else STATIC
        self._serve(flag.get("default"), 2, DEFAULT_RULE_ID, fixed_reason)
        if self.key_uses:
            self.src.lines.insert(2, "        _key = ctx.get(_KEY)")
        if self.memo_uses:
            self.src.lines.insert(2, "        if _m is None: _m = {}")
        self.src.emit(1, "except Exception:")
        # Only a broken definition or context gets here (try is free until something raises).
        # No context at all is the empty context, as in OpenFeature.
        self.src.emit(2, "return _flag({}) if ctx is None else _ERR")
        code = _function_code("\n".join(self.src.lines))
        # A fresh copy of the code for each flag: CPython specialises global look-ups per code
        # object, and flags that shared one would keep invalidating each other's (-30 %).
        function: FlagFunction = FunctionType(
            code.replace(co_name="_flag"), self.src.ns, None, (None,)
        )
        self.src.ns["_flag"] = function  # the except branch calls it again for ctx=None
        return function

    def _prerequisites(self, prerequisites: Any, off_variant: str) -> None:
        if not isinstance(prerequisites, list):
            raise CompileError("prerequisites must be a list")
        for item in prerequisites:
            if not isinstance(item, Mapping) or not isinstance(item.get("flag"), str):
                raise CompileError("a prerequisite needs a flag key")
            wanted = item.get("variants")
            if not isinstance(wanted, list):
                raise CompileError("a prerequisite needs a list of variants")
            key = item["flag"]
            check = self.src.const(self.prerequisite(key))
            variants = self.src.const(frozenset(v for v in wanted if isinstance(v, str)))
            unmet = self.result(off_variant, DISABLED, f"prerequisite:{key}")
            # A prerequisite's result is kept in the memo: a flag required along several paths
            # is evaluated once. Index 1 of an Evaluation is the variant.
            memo_key = self.src.const(FLAG_MEMO + key)
            self.memo_uses += 1
            self.src.emit(2, f"_r = _m.get({memo_key})")
            self.src.emit(2, f"if _r is None: _r = _m[{memo_key}] = {check}(ctx, _m)")
            self.src.emit(2, f"if _r[1] not in {variants}: return {unmet}")

    def _rule(self, rule: Mapping[str, Any], rule_id: str) -> None:
        clauses = rule.get("clauses") or []
        if not isinstance(clauses, list):
            raise CompileError(f"rule {rule_id}: clauses must be a list")
        try:
            condition = " and ".join(self._clause(c) for c in clauses)
        except CompileError as exc:
            raise CompileError(f"rule {rule_id}: {exc}") from None
        indent = 2
        if condition:
            self.src.emit(indent, f"if {condition}:")
            indent += 1
        rollout = rule.get("rollout")
        if rollout is not None:
            indent = self._rollout_gate(rollout, rule_id, indent)
        self._serve(rule.get("serve"), indent, rule_id, TARGETING_MATCH)

    def _clause(self, clause: Any) -> str:
        op, attribute, values, negate, case_insensitive = clause_fields(clause)
        if op == "segment":
            parts = [self._segment_expr(k) for k in values] or ["False"]
            expr = "(" + " or ".join(parts) + ")"
        elif op == "exists" and "." not in attribute:
            expr = f"(ctx.get({self.src.const(attribute)}) is not None)"
        else:
            expr = self._attribute_expr(op, attribute, values, case_insensitive)
        return f"(not {expr})" if negate else expr

    def _attribute_expr(
        self, op: str, attribute: str, values: list[Any], case_insensitive: bool
    ) -> str:
        match = self.src.const(value_matcher(op, attribute, values, case_insensitive))
        if "." in attribute:
            return f"{match}({self.src.const(attribute_getter(attribute))}(ctx))"
        name = self.src.const(attribute)
        if (
            op in ("in", "not_in", "eq")
            and not case_insensitive
            and all(isinstance(v, str) for v in values)
        ):
            # The common case inline: a string attribute tested against a set of strings;
            # anything else (missing, a list, a number) goes to the full matcher.
            strings = self.src.const(frozenset(values[:1] if op == "eq" else values))
            test = "not in" if op == "not_in" else "in"
            fetch = f"(_v := ctx.get({name}))"
            return f"((_v {test} {strings}) if {fetch}.__class__ is str else {match}(_v))"
        return f"{match}(ctx.get({name}))"

    def _segment_expr(self, key: Any) -> str:
        segment = self.segments.get(key)
        member = self.src.const(segment.member)
        if not segment.lists_only:
            self.memo_uses += 1
            return f"{member}(ctx, _m)"
        included = self.src.const(segment.included)
        test = f"_key in {included}"
        if segment.excluded:
            test += f" and _key not in {self.src.const(segment.excluded)}"
        self.key_uses += 1
        return f"(({test}) if _key.__class__ is str else {member}(ctx))"

    def _bucket_value(self, bucket_by: Any, indent: int) -> None:
        """Emits `_bv = <the first bucket_by attribute present>` (None when there is none)."""
        names = bucket_by_names(bucket_by)
        if names == (TARGETING_KEY,):
            self.key_uses += 1
            self.src.emit(indent, "_bv = _key")
            return
        if len(names) == 1 and "." not in names[0]:
            self.src.emit(indent, f"_bv = ctx.get({self.src.const(names[0])})")
            return
        getters = [attribute_getter(n) for n in names]

        def first_present(ctx: Mapping[str, Any]) -> Any:
            for get in getters:
                value = get(ctx)
                if value is not None:
                    return value
            return None

        self.src.emit(indent, f"_bv = {self.src.const(first_present)}(ctx)")

    def _rollout_gate(self, rollout: Any, rule_id: str, indent: int) -> int:
        if not isinstance(rollout, Mapping):
            raise CompileError(f"rule {rule_id}: rollout must be an object")
        millis = weight_millis(rollout.get("percentage"))
        if millis is None:
            raise CompileError(f"rule {rule_id}: rollout percentage must be 0..100")
        spec = hash_spec(rollout.get("hash"), for_split=False)
        self._bucket_value(rollout.get("bucket_by"), indent)
        self.src.emit(indent, "if _bv is not None:")
        self.src.emit(indent + 1, _TO_TEXT)
        if spec is None:
            # The rule id is part of the hashed text: made UTF-8-safe like every other part
            # (a lone surrogate there crashed mmh3).
            salt = self.src.const(utf8_safe(f"{self.salt}:rollout:{rule_id}."))
            gate = f"_h({salt} + _bv, 0, False) % {BUCKETS} < {self.src.const(millis)}"
        else:
            group_id, seed, total = spec
            # Unleash admits normalized = hash % total + 1 <= percentage * total / 100.
            limit = self.src.const(millis * total // BUCKETS)
            prefix, seed_c, total_c = (
                self.src.const(x) for x in (utf8_safe(group_id) + ":", seed, total)
            )
            gate = f"_h({prefix} + _bv, {seed_c}, False) % {total_c} < {limit}"
        self.src.emit(indent + 1, f"if {gate}:")
        return indent + 2

    def _serve(self, serve: Any, indent: int, rule_id: str, fixed_reason: str) -> None:
        if not isinstance(serve, Mapping):
            raise CompileError(f"{rule_id}: serve must be an object")
        if "variant" in serve:
            self.src.emit(indent, f"return {self.result(serve['variant'], fixed_reason, rule_id)}")
            return
        split = serve.get("split")
        if not isinstance(split, list) or not split:
            raise CompileError(f"{rule_id}: serve needs a variant or a non-empty split")
        results, weights = [], []
        for entry in split:
            millis = weight_millis(entry.get("weight")) if isinstance(entry, Mapping) else None
            if millis is None:
                raise CompileError(f"{rule_id}: split weights must be 0..100, <= 3 decimals")
            results.append(self.result(entry.get("variant"), SPLIT, rule_id))
            weights.append(millis)
        if sum(weights) != BUCKETS:
            raise CompileError(f"{rule_id}: split weights add up to {sum(weights) / 1000}, not 100")
        spec = hash_spec(serve.get("hash"), for_split=True)
        self._bucket_value(serve.get("bucket_by"), indent)
        # No bucketing attribute at all: the split serves its first variant (docs/ruleset.md).
        self.src.emit(indent, f"if _bv is None: return {results[0]}")
        self.src.emit(indent, _TO_TEXT)
        table = self.src.const(tuple(self.src.ns[r] for r in results))
        if spec is None:
            # An experiment's split has its own salt (docs/ruleset.md, "Rules").
            own = serve.get("salt")
            base = utf8_safe(own) if isinstance(own, str) and own else self.salt
            salt = self.src.const(base + ".")
            self.src.emit(indent, f"_b = _h({salt} + _bv, 0, False) % {BUCKETS}")
            if len(results) == 2:
                bound = self.src.const(weights[0])
                self.src.emit(indent, f"return {results[0]} if _b < {bound} else {results[1]}")
                return
            bounds = self.src.const(tuple(split_boundaries(weights)))
            self.src.emit(indent, f"return {table}[_bisect_right({bounds}, _b)]")
            return
        group_id, seed, total = spec
        prefix, seed_c, total_c = (
            self.src.const(x) for x in (utf8_safe(group_id) + ":", seed, total)
        )
        bounds = self.src.const(tuple(unleash_boundaries(weights, total)))
        self.src.emit(indent, f"_b = _h({prefix} + _bv, {seed_c}, False) % {total_c} + 1")
        self.src.emit(indent, f"return {table}[_bisect_left({bounds}, _b)]")


# Flags of the same shape generate the same source (their data lives in the namespace), and
# compile() is most of the cost of compiling a ruleset: each shape is compiled once.
_CODE_CACHE: dict[str, CodeType] = {}
_CODE_CACHE_LIMIT = 4096


def _function_code(source: str) -> CodeType:
    """The code object of the `_flag` function that `source` defines."""
    code = _CODE_CACHE.get(source)
    if code is None:
        if len(_CODE_CACHE) >= _CODE_CACHE_LIMIT:
            _CODE_CACHE.clear()
        module = compile(source, "<flagsite flag>", "exec")
        code = next(c for c in module.co_consts if isinstance(c, CodeType))
        _CODE_CACHE[source] = code
    return code


def _variant_values(variants: Any) -> dict[str, Any]:
    if not isinstance(variants, list) or not variants:
        raise CompileError("a flag needs a non-empty list of variants")
    values: dict[str, Any] = {}
    for v in variants:
        if not isinstance(v, Mapping) or not isinstance(v.get("key"), str):
            raise CompileError("every variant needs a key")
        if v["key"] in values:
            raise CompileError(f"variant {v['key']!r} is defined twice")
        values[v["key"]] = v.get("value")
    return values
