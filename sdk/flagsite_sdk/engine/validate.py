"""Save-time validation of flags, segments and whole rulesets (docs/ruleset.md).

The server calls these when a person saves a flag in the UI, when a script uses the management
API and when the importer brings in Unleash features, so all three refuse the same things. Each
returns a list of ValidationError(path, message); an empty list means valid.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from .codegen import hash_spec
from .graph import Chains, chain, cycle_path, cyclic_components, longest_chains, reverse_edges
from .limits import (
    MAX_CLAUSES,
    MAX_JSON_DEPTH,
    MAX_PREREQUISITE_DEPTH,
    MAX_PREREQUISITES,
    MAX_RULES,
    MAX_SEGMENTS,
)
from .literals import weight_millis
from .model import ValidationError
from .operators import CompileError
from .validate_clauses import (
    Errors,
    SegmentGraph,
    check_bucket_by,
    check_clause,
    check_percentage,
    check_text,
    quoted,
    segment_errors,
    validate_segment,
)

KINDS = ("boolean", "string", "number", "json")
VARIANT_KEY_RE = re.compile(r"[a-zA-Z0-9_.-]{1,64}")

__all__ = ["validate_flag", "validate_ruleset", "validate_segment"]


def _is_json(value: Any, depth: int = 0) -> bool:
    if depth > MAX_JSON_DEPTH:
        return False
    if value is None or isinstance(value, str | bool | int):
        return True
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, list):
        return all(_is_json(v, depth + 1) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _is_json(v, depth + 1) for k, v in value.items())
    return False


def _kind_problem(kind: Any, value: Any) -> str | None:
    if kind == "boolean" and not isinstance(value, bool):
        return "is not true or false"
    if kind == "string" and not isinstance(value, str):
        return "is not a string"
    if kind == "number" and (
        isinstance(value, bool) or not isinstance(value, int | float) or not _is_json(value)
    ):
        return "is not a (finite) number"
    if kind == "json" and not _is_json(value):
        return "is not a JSON value"
    return None


def _rule_label(rule: Any, index: int) -> str:
    rule_id = rule.get("id") if isinstance(rule, Mapping) else None
    name = rule.get("name") if isinstance(rule, Mapping) else None
    label = f"rule {index + 1}"
    if isinstance(name, str) and name:
        label = f"rule {quoted(name)}"
    if isinstance(rule_id, str) and rule_id:
        label += f" ({rule_id})"
    return label


class FlagGraph:
    """Prerequisite edges between flags with the longest chains both ways and the flags on
    cycles, computed once (linear time) for a whole ruleset."""

    def __init__(self, flags: Mapping[str, Any], *, replacing: Any = None) -> None:
        self.edges = {k: _prerequisite_keys(f) for k, f in flags.items()}
        key = replacing.get("key") if isinstance(replacing, Mapping) else None
        if isinstance(key, str) and key:
            self.edges[key] = _prerequisite_keys(replacing)
        self.down: Chains = longest_chains(self.edges)
        self.up: Chains = longest_chains(reverse_edges(self.edges))
        self.cyclic = {k for component in cyclic_components(self.edges) for k in component}


class _FlagChecker:
    def __init__(
        self,
        flag: Mapping[str, Any],
        segments: Mapping[str, Any] | None,
        flags: Mapping[str, Any] | None,
        errors: Errors,
        graph: FlagGraph | None = None,
        through: bool = True,
    ) -> None:
        self.flag = flag
        self.segments = segments
        self.flags = flags
        self.errors = errors
        self.variants: set[str] = set()
        self.graph = graph
        self.through = through

    def run(self) -> None:
        flag, add = self.flag, self.errors.add
        check_text(self.errors, "", flag)
        key = flag.get("key")
        if not isinstance(key, str) or not key:
            add("key", "the flag needs a key")
        kind = flag.get("kind")
        if kind not in KINDS:
            add("kind", f"kind must be one of {', '.join(KINDS)}, not {quoted(kind)}")
        self._variants(flag.get("variants"), kind)
        if "salt" in flag and flag["salt"] is not None and not isinstance(flag["salt"], str):
            add("salt", "salt must be a string")
        if not isinstance(flag.get("enabled"), bool):
            add("enabled", "enabled must be true or false")
        self._known_variant("off_variant", "off_variant", flag.get("off_variant"))
        self._prerequisites(flag.get("prerequisites"))
        rules = flag.get("rules")
        rules = [] if rules is None else rules
        if not isinstance(rules, list):
            add("rules", "rules must be a list")
            rules = []
        if len(rules) > MAX_RULES:
            add("rules", f"more than {MAX_RULES} rules ({len(rules)})")
            rules = []
        ids: set[str] = set()
        for i, rule in enumerate(rules):
            self._rule(i, rule, ids)
        if "default" not in flag:
            add("default", "the flag needs a default (a variant or a split)")
        else:
            self._serve("default", "the default", flag["default"])

    def _variants(self, variants: Any, kind: Any) -> None:
        if not isinstance(variants, list) or not variants:
            self.errors.add("variants", "the flag needs at least one variant")
            return
        for i, variant in enumerate(variants):
            path = f"variants[{i}]"
            if not isinstance(variant, Mapping):
                self.errors.add(path, f"variant {i + 1} must be an object")
                continue
            vkey = variant.get("key")
            if not isinstance(vkey, str) or not VARIANT_KEY_RE.fullmatch(vkey):
                self.errors.add(
                    f"{path}.key",
                    f"variant key {quoted(vkey)} must be 1-64 of letters, digits, _ . -",
                )
            elif vkey in self.variants:
                self.errors.add(f"{path}.key", f"variant {quoted(vkey)} is defined twice")
            else:
                self.variants.add(vkey)
            problem = _kind_problem(kind, variant.get("value")) if kind in KINDS else None
            if problem:
                self.errors.add(
                    f"{path}.value",
                    f"variant {quoted(vkey)}: value {variant.get('value')!r} {problem} "
                    f"(the flag's kind is {kind})",
                )

    def _known_variant(self, path: str, where: str, variant: Any) -> bool:
        if not isinstance(variant, str) or variant not in self.variants:
            self.errors.add(path, f"{where}: unknown variant {quoted(variant)}")
            return False
        return True

    def _prerequisites(self, prerequisites: Any) -> None:
        if prerequisites is None:
            return
        if not isinstance(prerequisites, list):
            self.errors.add("prerequisites", "prerequisites must be a list")
            return
        if len(prerequisites) > MAX_PREREQUISITES:
            self.errors.add(
                "prerequisites",
                f"more than {MAX_PREREQUISITES} prerequisites ({len(prerequisites)})",
            )
            return
        own_key = self.flag.get("key")
        for i, item in enumerate(prerequisites):
            path = f"prerequisites[{i}]"
            other = item.get("flag") if isinstance(item, Mapping) else None
            if not isinstance(other, str) or not other:
                self.errors.add(f"{path}.flag", f"prerequisite {i + 1} needs a flag key")
                continue
            where = f"prerequisite {quoted(other)}"
            if other == own_key:
                self.errors.add(f"{path}.flag", f"{where}: a flag cannot require itself")
                continue
            wanted = item.get("variants")
            if not isinstance(wanted, list) or not wanted:
                self.errors.add(f"{path}.variants", f"{where}: list the variants it must serve")
                continue
            if self.flags is None:
                continue
            target = self.flags.get(other)
            if not isinstance(target, Mapping):
                self.errors.add(f"{path}.flag", f"{where}: unknown flag")
                continue
            known = {v.get("key") for v in target.get("variants") or [] if isinstance(v, Mapping)}
            for j, variant in enumerate(wanted):
                if variant not in known:
                    self.errors.add(
                        f"{path}.variants[{j}]",
                        f"{where}: flag {quoted(other)} has no variant {quoted(variant)}",
                    )
        self._prerequisite_cycle(prerequisites)

    def _prerequisite_cycle(self, prerequisites: list[Any]) -> None:
        own_key = self.flag.get("key")
        if self.flags is None or not isinstance(own_key, str) or not own_key:
            return
        graph = self.graph or FlagGraph(self.flags, replacing=self.flag)
        self._prerequisite_depth(own_key, graph)
        if own_key not in graph.cyclic:
            return
        path = cycle_path(own_key, graph.edges)
        if len(path) > 2:
            index = next(
                i
                for i, p in enumerate(prerequisites)
                if isinstance(p, Mapping) and p.get("flag") == path[1]
            )
            self.errors.add(
                f"prerequisites[{index}].flag",
                "prerequisite cycle: " + " -> ".join(quoted(k) for k in path),
            )

    def _prerequisite_depth(self, own_key: str, graph: FlagGraph) -> None:
        if own_key not in graph.edges:
            return
        below = chain(graph.down, own_key)
        path = [*reversed(chain(graph.up, own_key)), *below[1:]] if self.through else below
        if len(path) > MAX_PREREQUISITE_DEPTH:
            self.errors.add(
                "prerequisites",
                f"prerequisite chain of {len(path)} flags ("
                + " -> ".join(quoted(k) for k in path[:5])
                + (" -> ..." if len(path) > 5 else "")
                + f"); the limit is {MAX_PREREQUISITE_DEPTH}",
            )

    def _rule(self, index: int, rule: Any, ids: set[str]) -> None:
        path = f"rules[{index}]"
        label = _rule_label(rule, index)
        if not isinstance(rule, Mapping):
            self.errors.add(path, f"{label} must be an object")
            return
        rule_id = rule.get("id")
        if not isinstance(rule_id, str) or not rule_id:
            self.errors.add(f"{path}.id", f"{label} needs an id")
        elif rule_id in ids:
            self.errors.add(f"{path}.id", f"{label}: the id {quoted(rule_id)} is used twice")
        else:
            ids.add(rule_id)
        if "name" in rule and rule["name"] is not None and not isinstance(rule["name"], str):
            self.errors.add(f"{path}.name", f"{label}: name must be a string")
        clauses = rule.get("clauses")
        clauses = [] if clauses is None else clauses
        if not isinstance(clauses, list):
            self.errors.add(f"{path}.clauses", f"{label}: clauses must be a list")
            clauses = []
        if len(clauses) > MAX_CLAUSES:
            self.errors.add(
                f"{path}.clauses", f"{label}: more than {MAX_CLAUSES} clauses ({len(clauses)})"
            )
            clauses = []
        for j, clause in enumerate(clauses):
            check_clause(self.errors, f"{path}.clauses[{j}]", label, clause, self.segments)
        rollout = rule.get("rollout")
        if rollout is not None:
            self._rollout(f"{path}.rollout", label, rollout)
        if "serve" not in rule:
            self.errors.add(f"{path}.serve", f"{label} needs a serve (a variant or a split)")
        else:
            self._serve(f"{path}.serve", label, rule["serve"])

    def _rollout(self, path: str, label: str, rollout: Any) -> None:
        where = f"{label}, rollout"
        if not isinstance(rollout, Mapping):
            self.errors.add(path, f"{where} must be an object")
            return
        check_percentage(self.errors, f"{path}.percentage", where, rollout.get("percentage"))
        check_bucket_by(self.errors, f"{path}.bucket_by", where, rollout.get("bucket_by"))
        self._hash(f"{path}.hash", where, rollout.get("hash"), for_split=False)

    def _hash(self, path: str, where: str, value: Any, *, for_split: bool) -> None:
        try:
            hash_spec(value, for_split=for_split)
        except CompileError as exc:
            self.errors.add(path, f"{where}: {exc}")

    def _serve(self, path: str, label: str, serve: Any) -> None:
        if not isinstance(serve, Mapping) or ("variant" in serve) == ("split" in serve):
            self.errors.add(path, f"{label} must serve either a variant or a split")
            return
        if "variant" in serve:
            self._known_variant(f"{path}.variant", label, serve["variant"])
            return
        split = serve["split"]
        where = f"{label}, split"
        if not isinstance(split, list) or not split:
            self.errors.add(f"{path}.split", f"{where} needs at least one variant")
            return
        total, seen, weights_ok = 0, set(), True
        for i, entry in enumerate(split):
            entry_path = f"{path}.split[{i}]"
            if not isinstance(entry, Mapping):
                self.errors.add(entry_path, f"{where}: entry {i + 1} must be an object")
                weights_ok = False
                continue
            variant = entry.get("variant")
            if self._known_variant(f"{entry_path}.variant", where, variant):
                if variant in seen:
                    self.errors.add(f"{entry_path}.variant", f"{where}: {quoted(variant)} twice")
                seen.add(variant)
            weight = entry.get("weight")
            millis = None if isinstance(weight, bool) else weight_millis(weight)
            if millis is None:
                weights_ok = False
                self.errors.add(
                    f"{entry_path}.weight",
                    f"{where}: weight {weight!r} of {quoted(variant)} must be a number from 0 "
                    "to 100 with at most 3 decimals",
                )
            else:
                total += millis
        if weights_ok and total != 100_000:
            self.errors.add(
                f"{path}.split", f"{where}: weights add up to {total / 1000:g}, not 100"
            )
        check_bucket_by(self.errors, f"{path}.bucket_by", where, serve.get("bucket_by"))
        self._hash(f"{path}.hash", where, serve.get("hash"), for_split=True)
        salt = serve.get("salt")
        if salt is not None and (not isinstance(salt, str) or not 0 < len(salt) <= 128):
            self.errors.add(f"{path}.salt", f"{where}: salt must be a string of 1-128 characters")


def _prerequisite_keys(flag: Any) -> list[str]:
    prerequisites = flag.get("prerequisites") if isinstance(flag, Mapping) else None
    if not isinstance(prerequisites, list):
        return []
    return [p["flag"] for p in prerequisites if isinstance(p, Mapping) and "flag" in p]


def validate_flag(
    flag: Mapping[str, Any],
    *,
    segments: Mapping[str, Any] | None,
    flags: Mapping[str, Any] | None = None,
) -> list[ValidationError]:
    """Problems in one flag (ruleset flag format).

    `segments` maps segment keys to definitions (for unknown-segment references); `flags` maps
    flag keys to flag definitions, this flag's new version included or not, and enables the
    prerequisite checks that need the other flags (existence, their variants, cycles). Pass
    None to skip those.
    """
    return _validate_flag(flag, segments, flags, Errors())


def _validate_flag(
    flag: Any,
    segments: Mapping[str, Any] | None,
    flags: Mapping[str, Any] | None,
    errors: Errors,
    graph: FlagGraph | None = None,
) -> list[ValidationError]:
    if not isinstance(flag, Mapping):
        errors.add("", "a flag must be an object")
        return errors.items
    _FlagChecker(flag, segments, flags, errors, graph, through=graph is None).run()
    return errors.items


def validate_ruleset(data: Mapping[str, Any]) -> list[ValidationError]:
    """Problems anywhere in a ruleset document; paths start with `flags["key"].` or
    `segments["key"].`."""
    errors = Errors()
    if not isinstance(data, Mapping):
        errors.add("", "a ruleset must be a JSON object")
        return errors.items
    if data.get("schema", 1) != 1:
        errors.add("schema", f"unsupported schema {data.get('schema')!r} (expected 1)")
    flags, segments = data.get("flags", {}), data.get("segments", {})
    for name, value in (("flags", flags), ("segments", segments)):
        if not isinstance(value, Mapping):
            errors.add(name, f"{name} must be an object keyed by {name[:-1]} key")
    if not isinstance(flags, Mapping) or not isinstance(segments, Mapping):
        return errors.items
    if len(segments) > MAX_SEGMENTS:
        errors.add("segments", f"more than {MAX_SEGMENTS:,} segments ({len(segments):,})")
    items = list(errors.items)
    # The reference graphs once for the whole document, so validating it stays linear.
    segment_graph = SegmentGraph(segments)
    flag_graph = FlagGraph(flags)
    for key, segment in segments.items():
        sub = Errors(f"segments[{quoted(key)}].")
        if isinstance(segment, Mapping) and segment.get("key") != key:
            sub.add("key", f"segment {quoted(key)} has key {quoted(segment.get('key'))}")
        items += segment_errors(segment, segments, sub, graph=segment_graph)
    for key, flag in flags.items():
        sub = Errors(f"flags[{quoted(key)}].")
        if isinstance(flag, Mapping) and flag.get("key") != key:
            sub.add("key", f"flag {quoted(key)} has key {quoted(flag.get('key'))}")
        items += _validate_flag(flag, segments, flags, sub, flag_graph)
    return items
