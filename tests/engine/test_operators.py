"""Clause operators, as docs/ruleset.md's "Clauses" table defines them.

The operator semantics are shared JSON cases now (tests/engine/spec/01-operators.json and
02-segments.json, run by test_spec.py against the compiled engine and the reference
interpreter); what stays here needs many contexts at once.
"""

from __future__ import annotations

from .builders import boolean_flag, rule, ruleset, segment


def test_segment_percentage_is_the_same_users_for_every_flag() -> None:
    segments = (segment("five", percentage=5),)
    rs = ruleset(
        *(boolean_flag(k, rules=[rule("r", {"op": "segment", "values": ["five"]})]) for k in "abc"),
        segments=segments,
    )
    members = {
        k: {u for u in range(4000) if rs.functions[k]({"key": f"u{u}"}).variant == "on"}
        for k in "abc"
    }
    assert members["a"] == members["b"] == members["c"]
    assert 150 < len(members["a"]) < 250  # about 5 % of 4000


def test_a_segment_percentage_reads_a_dotted_bucket_by_as_a_path_like_flags_do() -> None:
    segments = (segment("half", percentage=50, bucket_by="user.id"),)
    rs = ruleset(
        boolean_flag(rules=[rule("r", {"op": "segment", "values": ["half"]})]), segments=segments
    )
    nested = [rs.functions["f"]({"user": {"id": f"u{i}"}}).variant for i in range(200)]
    flat = [rs.functions["f"]({"user.id": f"u{i}"}).variant for i in range(200)]
    assert nested == flat
    assert set(nested) == {"on", "off"}
