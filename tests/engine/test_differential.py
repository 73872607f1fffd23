"""The fast engine (generated code) against the reference interpreter (engine/reference.py) on
random valid rulesets and random contexts: both must give the same Evaluation, field by field."""

from __future__ import annotations

import itertools
from typing import Any

from flagsite_sdk.engine import compile_ruleset, evaluate, validate_ruleset
from flagsite_sdk.engine.reference import reference_evaluate
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

ATTRIBUTES = ["key", "tier", "n", "v", "ip", "when", "now", "roles", "user.plan", "email"]
# Literals per operator family, chosen so that random contexts hit both sides of each test.
LITERALS: dict[str, list[Any]] = {
    "in": ["paid", "free", "Paid", 1, 2.5, True, "alice", "u1"],
    "eq": ["paid", "PAID", 1, False, "alice"],
    "string": ["pa", "id", "@acme.com", "ALI", "x"],
    "regex": ["^p", "d$", "^(a+)+$", "(?i)free", "[0-9]", "^u\\d+$", "ß"],
    "number": [0, 1, 2.5, "10", "-3"],
    "semver": ["1.2.3", "2.0.0-rc.1", "0.9.0"],
    "date": ["2024-01-01T00:00:00Z", 1700000000, "2030-06-01T12:00:00+02:00"],
    "cidr": ["10.0.0.0/8", "192.168.1.1", "2001:db8::/32"],
}
OPS: dict[str, str] = {
    "in": "in",
    "not_in": "in",
    "eq": "eq",
    "contains": "string",
    "starts_with": "string",
    "ends_with": "string",
    "regex": "regex",
    "num_eq": "number",
    "num_lt": "number",
    "num_lte": "number",
    "num_gt": "number",
    "num_gte": "number",
    "semver_eq": "semver",
    "semver_lt": "semver",
    "semver_gte": "semver",
    "date_before": "date",
    "date_after": "date",
    "cidr": "cidr",
    "exists": "",
}
CASE_INSENSITIVE = {"in", "not_in", "eq", "contains", "starts_with", "ends_with", "regex"}
SINGLE = {"eq", "num_eq", "num_lt", "num_lte", "num_gt", "num_gte", "semver_eq", "semver_lt"}
SINGLE |= {"semver_gte", "date_before", "date_after"}

context_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 12),
    st.sampled_from([0.5, 2.5, 10.0]),
    st.sampled_from(
        [
            *("paid", "free", "PAID", "alice", "u1", "u12", "1.2.3", "2.0.0-rc.1", "10.1.2.3"),
            *("192.168.1.1", "2024-06-01T00:00:00Z", "2019-01-01", "ana@acme.com", "aaaa!", "ß"),
        ]
    ),
    st.text(max_size=5),
)
contexts = st.fixed_dictionaries(
    {},
    optional={
        **{a: context_values | st.lists(context_values, max_size=3) for a in ATTRIBUTES},
        "user": st.fixed_dictionaries({}, optional={"plan": context_values}),
        "key": st.sampled_from(["alice", "bob", "u1", "u2", "u3", 7]) | st.text(max_size=4),
    },
)


@st.composite
def clauses(draw: st.DrawFn, segment_keys: list[str]) -> dict[str, Any]:
    if segment_keys and draw(st.integers(0, 4)) == 0:
        used = draw(st.lists(st.sampled_from(segment_keys), min_size=1, max_size=2))
        return {"op": "segment", "values": used, "negate": draw(st.booleans())}
    op = draw(st.sampled_from(sorted(OPS)))
    clause: dict[str, Any] = {"attribute": draw(st.sampled_from(ATTRIBUTES)), "op": op}
    if op != "exists":
        pool = LITERALS[OPS[op]]
        size = 1 if op in SINGLE else draw(st.integers(0 if op in ("in", "not_in") else 1, 3))
        clause["values"] = draw(st.lists(st.sampled_from(pool), min_size=size, max_size=size))
    if draw(st.booleans()):
        clause["negate"] = True
    if op in CASE_INSENSITIVE and draw(st.booleans()):
        clause["case_insensitive"] = True
    return clause


@st.composite
def weights(draw: st.DrawFn, count: int) -> list[float]:
    cuts = sorted(draw(st.lists(st.integers(0, 100_000), min_size=count - 1, max_size=count - 1)))
    bounds = [0, *cuts, 100_000]
    return [(b - a) / 1000 for a, b in itertools.pairwise(bounds)]


bucket_bys = st.none() | st.sampled_from(["key", "n", "user.plan", ["tier", "key"]])


def hashes(for_split: bool) -> st.SearchStrategy[Any]:
    unleash = st.fixed_dictionaries(
        {"mode": st.just("unleash"), "group_id": st.sampled_from(["g", "feature"])},
        optional={"seed": st.integers(0, 2**32 - 1), "total": st.sampled_from([100, 1000, 7])},
    )
    return st.none() | unleash


@st.composite
def serves(draw: st.DrawFn, variants: list[str]) -> dict[str, Any]:
    if draw(st.booleans()):
        return {"variant": draw(st.sampled_from(variants))}
    chosen = draw(st.lists(st.sampled_from(variants), min_size=1, max_size=3, unique=True))
    split = [
        {"variant": v, "weight": w} for v, w in zip(chosen, draw(weights(len(chosen))), strict=True)
    ]
    serve: dict[str, Any] = {"split": split}
    if (by := draw(bucket_bys)) is not None:
        serve["bucket_by"] = by
    if (spec := draw(hashes(True))) is not None:
        serve["hash"] = spec
    return serve


@st.composite
def rulesets(draw: st.DrawFn) -> dict[str, Any]:
    segment_count = draw(st.integers(0, 4))
    segment_keys = [f"s{i}" for i in range(segment_count)]
    segments = {}
    for i, key in enumerate(segment_keys):
        later = segment_keys[i + 1 :]  # only later segments: no cycles
        segments[key] = {
            "key": key,
            "included": draw(st.lists(st.sampled_from(["alice", "u1", "7"]), max_size=2)),
            "excluded": draw(st.lists(st.sampled_from(["bob", "u1"]), max_size=1)),
            "clauses": draw(st.lists(clauses(later), max_size=2)),
            "percentage": draw(st.none() | st.sampled_from([0, 12.5, 50, 100])),
            "bucket_by": draw(bucket_bys),
        }
    flag_keys = [f"f{i}" for i in range(draw(st.integers(1, 4)))]
    kinds = {key: draw(st.sampled_from(["boolean", "string"])) for key in flag_keys}
    variant_keys = {"boolean": ["on", "off"], "string": ["a", "b", "c"]}
    flags = {}
    for i, key in enumerate(flag_keys):
        kind = kinds[key]
        names = variant_keys[kind]
        if kind == "boolean":
            variants = [{"key": "on", "value": True}, {"key": "off", "value": False}]
        else:
            variants = [{"key": v, "value": v.upper()} for v in names]
        later = flag_keys[i + 1 :]  # only later flags: no cycles
        required = draw(st.lists(st.sampled_from(later), max_size=2, unique=True)) if later else []
        prerequisites = [
            {
                "flag": other,
                "variants": draw(
                    st.lists(st.sampled_from(variant_keys[kinds[other]]), min_size=1, unique=True)
                ),
            }
            for other in required
        ]
        rules = []
        for r in range(draw(st.integers(0, 4))):
            rule: dict[str, Any] = {
                "id": f"r{r}",
                "clauses": draw(st.lists(clauses(segment_keys), max_size=3)),
                "serve": draw(serves(names)),
            }
            if draw(st.integers(0, 2)) == 0:
                rollout: dict[str, Any] = {"percentage": draw(st.sampled_from([0, 1.5, 50, 100]))}
                if (by := draw(bucket_bys)) is not None:
                    rollout["bucket_by"] = by
                if (spec := draw(hashes(False))) is not None:
                    rollout["hash"] = spec
                rule["rollout"] = rollout
            rules.append(rule)
        flags[key] = {
            "key": key,
            "kind": kind,
            "salt": draw(st.sampled_from([key, "shared-salt"])),
            "variants": variants,
            "enabled": draw(st.integers(0, 5)) > 0,
            "off_variant": draw(st.sampled_from(names)),
            "prerequisites": prerequisites,
            "rules": rules,
            "default": draw(serves(names)),
        }
    return {"schema": 1, "flags": flags, "segments": segments}


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(data=rulesets(), contexts=st.lists(contexts, min_size=1, max_size=5))
def test_the_compiled_engine_agrees_with_the_reference_interpreter(
    data: dict[str, Any], contexts: list[dict[str, Any]]
) -> None:
    assume(validate_ruleset(data) == [])
    compiled = compile_ruleset(data)
    assert compiled.errors == {}
    for context in contexts:
        for key in data["flags"]:
            fast = evaluate(compiled, key, context)
            slow = reference_evaluate(data, key, context)
            assert fast == slow, (key, context)
