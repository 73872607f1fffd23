"""Clause operators, as docs/ruleset.md's "Clauses" table defines them."""

from __future__ import annotations

from typing import Any

import pytest

from .builders import boolean_flag, clause, matches, rule, ruleset, segment


@pytest.mark.parametrize(
    ("op", "values", "value", "expected"),
    [
        ("in", ["paid", "team"], "paid", True),
        ("in", ["paid", "team"], "free", False),
        ("in", [1, 2], 2, True),
        ("in", [1, 2], 2.0, True),
        ("in", ["1"], 1, False),  # JSON equality: a number is not its string
        ("in", [1], True, False),  # ... and a bool is not a number
        ("in", [True], True, True),
        ("in", [], "x", False),
        ("not_in", ["paid"], "free", True),
        ("not_in", ["paid"], "paid", False),
        ("not_in", [], "x", True),
        ("eq", ["paid"], "paid", True),
        ("eq", ["paid"], "Paid", False),
        ("contains", ["acme"], "ana@acme.com", True),
        ("contains", ["acme"], "ana@example.com", False),
        ("starts_with", ["ana", "bo"], "bob", True),
        ("starts_with", ["ana"], "hana", False),
        ("ends_with", ["@acme.com"], "ana@acme.com", True),
        ("ends_with", ["@acme.com"], "ana@acme.com.evil", False),
        ("regex", [r"^user-\d+$"], "user-42", True),
        ("regex", [r"^user-\d+$"], "user-x", False),
        ("regex", ["x", r"\d"], "a1", True),  # any of values, re.search
        ("num_eq", [12], "12.0", True),
        ("num_eq", ["12"], 12, True),
        ("num_lt", [12], 11.5, True),
        ("num_lt", [12], 12, False),
        ("num_lte", [12], 12, True),
        ("num_gt", ["1e3"], 1001, True),
        ("num_gt", [12], 12, False),
        ("num_gte", [12], "12", True),
        ("num_gte", [12], "1_000", False),  # not a plain decimal
        ("num_eq", [1], True, False),  # a bool is not a number
        ("semver_eq", ["1.2.3"], "1.2.3+build.5", True),
        ("semver_lt", ["2.0.0"], "2.0.0-rc.1", True),  # pre-release sorts first
        ("semver_lt", ["2.0.0-alpha.10"], "2.0.0-alpha.9", True),  # numeric identifiers
        ("semver_lt", ["2.0.0-alpha.1"], "2.0.0-alpha", True),  # shorter list first
        ("semver_gt", ["2.0.0-alpha.beta"], "2.0.0-alpha.1", False),  # numeric < alphanumeric
        ("semver_gte", ["1.2.3"], "1.10.0", True),
        ("semver_lte", ["1.2.3"], "1.2.3", True),
        ("semver_gt", ["1.2.3"], "v1.2.4", False),  # not SemVer
        ("semver_eq", ["1.2.3"], "01.2.3", False),
        ("date_before", ["2024-01-01T00:00:00Z"], "2023-12-31T23:59:59Z", True),
        ("date_before", ["2024-01-01T00:00:00Z"], "2024-01-01T00:00:00Z", False),
        ("date_after", ["2024-01-01T00:00:00Z"], "2024-01-01T02:00:00+01:00", True),
        ("date_after", ["2024-01-01T00:00:00Z"], 1704067201, True),  # epoch seconds
        ("date_after", [1704067200], "2023-12-31T00:00:00Z", False),
        ("date_after", ["2024-01-01T00:00:00Z"], "next tuesday", False),
        ("cidr", ["10.0.0.0/8"], "10.1.2.3", True),
        ("cidr", ["10.0.0.0/8"], "11.1.2.3", False),
        ("cidr", ["192.168.0.1"], "192.168.0.1", True),
        ("cidr", ["2001:db8::/32"], "2001:db8::1", True),
        ("cidr", ["2001:db8::/32"], "10.1.2.3", False),
        ("cidr", ["10.0.0.0/8"], "not-an-ip", False),
    ],
)
def test_operator(op: str, values: list[Any], value: Any, expected: bool) -> None:
    assert matches(clause("a", op, *values), {"key": "k", "a": value}) is expected


@pytest.mark.parametrize(
    "op",
    [
        "in",
        "eq",
        "contains",
        "starts_with",
        "ends_with",
        "regex",
        "num_eq",
        "semver_eq",
        "date_before",
        "cidr",
        "exists",
    ],
)
def test_a_missing_attribute_does_not_match_and_negated_it_does(op: str) -> None:
    literals: dict[str, list[Any]] = {
        "num_eq": [1],
        "semver_eq": ["1.0.0"],
        "date_before": ["2999-01-01T00:00:00Z"],
        "cidr": ["10.0.0.0/8"],
    }
    values = literals.get(op, ["x"])
    data = clause("a", op, *values)
    assert matches(data, {"key": "k"}) is False
    assert matches(data, {"key": "k", "a": None}) is False
    assert matches({**data, "negate": True}, {"key": "k"}) is True


def test_a_missing_attribute_matches_not_in_as_in_unleash() -> None:
    assert matches(clause("a", "not_in", "x"), {"key": "k"}) is True
    assert matches(clause("a", "not_in", "x", negate=True), {"key": "k"}) is False


@pytest.mark.parametrize(
    ("op", "values", "value"),
    [
        ("contains", ["1"], 1),
        ("starts_with", ["a"], ["b"]),
        ("regex", ["."], 5),
        ("num_lt", [5], "five"),
        ("semver_eq", ["1.0.0"], 1),
        ("cidr", ["10.0.0.0/8"], 167837953),
        ("in", ["a"], {"a": 1}),
    ],
)
def test_a_value_of_the_wrong_type_does_not_match(op: str, values: list[Any], value: Any) -> None:
    assert matches(clause("a", op, *values), {"key": "k", "a": value}) is False
    assert matches(clause("a", op, *values, negate=True), {"key": "k", "a": value}) is True


@pytest.mark.parametrize(
    ("op", "values", "value"),
    [
        ("in", ["PAID"], "paid"),
        ("not_in", ["PAID"], "free"),
        ("eq", ["Straße"], "STRASSE"),  # casefold, not lower
        ("contains", ["ACME"], "ana@acme.com"),
        ("starts_with", ["ANA"], "ana@acme.com"),
        ("ends_with", ["@ACME.COM"], "ana@acme.com"),
        ("regex", ["^ANA@"], "ana@acme.com"),
    ],
)
def test_case_insensitive(op: str, values: list[Any], value: str) -> None:
    assert matches(clause("a", op, *values, case_insensitive=True), {"a": value}) is True
    assert matches(clause("a", op, *values), {"a": value}) is (op == "not_in")


def test_exists() -> None:
    data = clause("a", "exists")
    assert matches(data, {"a": 0}) is True
    assert matches(data, {"a": ""}) is True
    assert matches(data, {"a": []}) is True
    assert matches(data, {"a": None}) is False
    assert matches(data, {}) is False


def test_a_list_attribute_matches_if_any_element_matches() -> None:
    assert matches(clause("roles", "in", "admin"), {"roles": ["user", "admin"]}) is True
    assert matches(clause("roles", "in", "admin"), {"roles": ["user"]}) is False
    assert matches(clause("emails", "ends_with", "@acme.com"), {"emails": ["a@x.io", "b@acme.com"]})
    assert matches(clause("versions", "semver_gte", "2.0.0"), {"versions": ["1.0.0", "2.1.0"]})
    assert matches(clause("roles", "in", "admin"), {"roles": []}) is False


def test_not_in_a_list_attribute_is_the_negation_of_in() -> None:
    # "roles not_in [admin]" must keep admins out even when they have other roles too.
    assert matches(clause("roles", "not_in", "admin"), {"roles": ["user", "admin"]}) is False
    assert matches(clause("roles", "not_in", "admin"), {"roles": ["user"]}) is True
    assert matches(clause("roles", "not_in", "admin"), {"roles": []}) is True


def test_dotted_attributes_read_nested_objects_and_prefer_an_exact_key() -> None:
    assert matches(clause("user.plan", "eq", "pro"), {"user": {"plan": "pro"}}) is True
    assert matches(clause("user.plan", "eq", "pro"), {"user": {"plan": "free"}}) is False
    assert matches(clause("user.plan", "eq", "pro"), {"user": "pro"}) is False
    assert matches(clause("user.plan", "eq", "pro"), {"user.plan": "pro"}) is True
    assert matches(clause("a.b.c", "num_gt", 1), {"a": {"b": {"c": 2}}}) is True
    assert matches(clause("a.b", "exists"), {"a": {"b": None}}) is False


def test_now_defaults_to_the_current_time() -> None:
    assert matches(clause("now", "date_after", "2020-01-01T00:00:00Z"), {}) is True
    assert matches(clause("now", "date_before", "2020-01-01T00:00:00Z"), {}) is False
    assert matches(clause("now", "date_before", "2020-01-01T00:00:00Z"), {"now": "2019-06-01"})
    # Only `now` has a default: another missing date attribute does not match.
    assert matches(clause("signup", "date_after", "2020-01-01T00:00:00Z"), {}) is False


def _in_segment(segments: tuple[dict[str, Any], ...], context: dict[str, Any]) -> bool:
    return matches({"op": "segment", "values": ["s"]}, context, segments=segments)


def test_segment_membership_by_key_lists() -> None:
    segments = (segment("s", included=["alice", "42"], excluded=["mallory"]),)
    assert _in_segment(segments, {"key": "alice"}) is True
    assert _in_segment(segments, {"key": 42}) is True  # an integer key as its decimal string
    assert _in_segment(segments, {"key": "bob"}) is False
    assert _in_segment(segments, {"key": "mallory"}) is False
    assert _in_segment(segments, {"key": ["alice"]}) is False
    assert _in_segment(segments, {}) is False


def test_segment_membership_by_clauses_with_excluded_winning() -> None:
    segments = (
        segment(
            "s",
            included=["vip"],
            excluded=["ex@acme.com"],
            clauses=[clause("email", "ends_with", "@acme.com")],
        ),
    )
    assert _in_segment(segments, {"key": "u1", "email": "u1@acme.com"}) is True
    assert _in_segment(segments, {"key": "vip", "email": "vip@gmail.com"}) is True
    assert _in_segment(segments, {"key": "ex@acme.com", "email": "ex@acme.com"}) is False
    assert _in_segment(segments, {"key": "u2", "email": "u2@gmail.com"}) is False


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


def test_segments_can_use_segments_and_any_of_several_matches() -> None:
    segments = (
        segment("staff", clauses=[clause("email", "ends_with", "@acme.com")]),
        segment("beta", included=["b1"]),
        segment("staff-or-beta", clauses=[{"op": "segment", "values": ["staff", "beta"]}]),
    )

    def check(context: dict[str, Any]) -> bool:
        return matches({"op": "segment", "values": ["staff-or-beta"]}, context, segments=segments)

    assert check({"key": "x", "email": "x@acme.com"}) is True
    assert check({"key": "b1"}) is True
    assert check({"key": "x", "email": "x@gmail.com"}) is False


def test_negated_segment() -> None:
    segments = (segment("s", included=["alice"]),)
    data = {"op": "segment", "values": ["s"], "negate": True}
    assert matches(data, {"key": "bob"}, segments=segments) is True
    assert matches(data, {"key": "alice"}, segments=segments) is False
