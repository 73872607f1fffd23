"""The `regex` operator is RE2 (linear time, no back-references); without google-re2 the SDK
falls back to a matcher that never backtracks (engine/linear_regex.py)."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest
from flagsite_sdk.engine import GENERAL, evaluate, linear_regex, regex, validate_flag
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .builders import boolean_flag, clause, matches, rule, ruleset

# Patterns that make a backtracking engine take exponential (or high-polynomial) time, with
# the inputs that trigger it. bench/hostile.py measures the same set.
HOSTILE = [
    ("^(a+)+$", "a" * 10_000 + "!"),
    ("^(a|aa)+$", "a" * 10_000 + "!"),
    ("^(a|a?)+$", "a" * 10_000 + "!"),
    ("(x+x+)+y", "x" * 10_000),
    ("^(\\w+\\s?)*$", "word " * 2_000 + "!"),
    (
        "^([a-zA-Z0-9])(([\\-.]|[_]+)?([a-zA-Z0-9]+))*(@){1}[a-z0-9]+[.]{1}(([a-z]{2,3})|([a-z]{2,3}[.]{1}[a-z]{2,3}))$",
        "a" * 10_000 + "!",
    ),
    ("^(.*a){12}$", "a" * 10_000 + "!"),
]


def _flag_errors(pattern: str, **fields: Any) -> dict[str, str]:
    flag = boolean_flag(rules=[rule("r1", clause("email", "regex", pattern, **fields))])
    return {e.path: e.message for e in validate_flag(flag, segments={})}


@pytest.mark.parametrize(("pattern", "text"), HOSTILE, ids=[p for p, _ in HOSTILE])
def test_hostile_patterns_are_accepted_and_answer_on_10kb_inputs(pattern: str, text: str) -> None:
    # With Python's re the first of these did not finish (5.6 s at 27 characters, doubling with
    # each one more); RE2 answers at once.
    assert _flag_errors(pattern) == {}
    assert matches(clause("a", "regex", pattern), {"key": "k", "a": text}) is False


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [
        ("(a)\\1", "invalid escape sequence: \\1"),
        ("^(?=admin)", "invalid perl operator: (?="),
        ("(?<!x)y", "invalid perl operator: (?<"),
        ("a++", "bad repetition operator"),
        ("\\Z", "invalid escape sequence: \\Z"),
        ("(unclosed", "missing )"),
    ],
)
def test_patterns_re2_cannot_compile_are_refused_naming_the_clause(
    pattern: str, reason: str
) -> None:
    errors = _flag_errors(pattern)
    message = errors["rules[0].clauses[0].values[0]"]
    assert message.startswith("rule 1 (r1), clause 1, value 1: regular expression")
    assert "does not compile (RE2: " in message and reason in message


def test_a_pattern_longer_than_the_limit_is_refused() -> None:
    errors = _flag_errors("a" * (regex.MAX_PATTERN_LENGTH + 1))
    assert "longer than 1000 characters" in errors["rules[0].clauses[0].values[0]"]


# RE2's semantics as the operator sees them (\d is ASCII, $ is the end of the text ...) are
# shared JSON cases: tests/engine/spec/04-regex.json.


def test_a_lone_surrogate_in_the_attribute_is_matched_as_u_fffd() -> None:
    assert matches(clause("a", "regex", "^x\ufffdy$"), {"key": "k", "a": "x\ud800y"}) is True


# --- the fallback without google-re2 -------------------------------------------------------


@pytest.fixture
def without_re2(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(regex, "USING_RE2", False)


@pytest.mark.usefixtures("without_re2")
@pytest.mark.parametrize(("pattern", "text"), HOSTILE, ids=[p for p, _ in HOSTILE])
def test_the_fallback_runs_hostile_patterns_in_linear_steps(pattern: str, text: str) -> None:
    program = linear_regex.compile_program(pattern, False)
    assert isinstance(program, linear_regex.Program), program
    assert program.search(text) is False
    # Each position adds each instruction at most once: steps <= (len + 1) x program size.
    assert program.steps <= (len(text) + 1) * len(program.ops)
    assert matches(clause("a", "regex", pattern), {"key": "k", "a": text}) is False


@pytest.mark.usefixtures("without_re2")
@pytest.mark.parametrize(
    "pattern", ["(a)\\1", "(?=a)", "[[:alpha:]]", "\\pL", "(?i)a", "\\bword\\b", "x{,3}"]
)
def test_the_fallback_answers_error_for_patterns_outside_its_subset(pattern: str) -> None:
    flag = boolean_flag(rules=[rule("r1", clause("a", "regex", pattern))])
    rs = ruleset(flag, boolean_flag("other"))
    assert "only a linear subset can run" in rs.errors["f"]
    result = evaluate(rs, "f", {"key": "k", "a": "a"})
    assert (result.reason, result.error_code) == ("ERROR", GENERAL)
    assert evaluate(rs, "other", {"key": "k"}).variant == "off"  # the others keep working


def test_the_engine_uses_the_fallback_where_re2_cannot_be_imported() -> None:
    script = (
        "import sys; sys.modules['re2'] = None\n"
        "from flagsite_sdk.engine import regex, compile_ruleset, evaluate\n"
        "assert not regex.USING_RE2\n"
        "flag = {'key': 'f', 'kind': 'boolean', 'enabled': True, 'off_variant': 'off',\n"
        "  'variants': [{'key': 'on', 'value': True}, {'key': 'off', 'value': False}],\n"
        "  'rules': [{'id': 'r', 'clauses': [{'attribute': 'a', 'op': 'regex',\n"
        "    'values': ['^(a+)+$']}], 'serve': {'variant': 'on'}}],\n"
        "  'default': {'variant': 'off'}}\n"
        "rs = compile_ruleset({'flags': {'f': flag}})\n"
        "print(evaluate(rs, 'f', {'a': 'a' * 5000 + '!'}).variant,\n"
        "      evaluate(rs, 'f', {'a': 'aaa'}).variant)\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["off", "on"]


ATOMS = ["a", "b", "A", ".", "\\d", "\\w", "\\s", "\\W", "[ab]", "[^a]", "[a-c]", "\\.", "\u00e9"]


def _combine(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    pair = st.tuples(children, children)
    return st.one_of(
        pair.map("".join),
        pair.map("|".join),
        children.map(lambda c: f"({c})"),
        children.map(lambda c: f"(?:{c})*"),
        children.map(lambda c: f"({c})+"),
        children.map(lambda c: f"({c})?"),
        children.map(lambda c: f"({c}){{1,3}}"),
        children.map(lambda c: f"^{c}"),
        children.map(lambda c: f"{c}$"),
    )


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    pattern=st.recursive(st.sampled_from(ATOMS), _combine, max_leaves=8),
    text=st.text(alphabet="abAB.1 \nx\u00e9\u00c9_", max_size=12),
    case_insensitive=st.booleans(),
)
def test_the_fallback_agrees_with_re2(pattern: str, text: str, case_insensitive: bool) -> None:
    with_re2 = regex.compile_search(pattern, case_insensitive, use_re2=True)
    fallback = regex.compile_search(pattern, case_insensitive, use_re2=False)
    assert not isinstance(with_re2, str) and not isinstance(fallback, str), (with_re2, fallback)
    assert with_re2(text) == fallback(text), (pattern, text, case_insensitive)
