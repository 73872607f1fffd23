"""Text that has no UTF-8 form (lone UTF-16 surrogates): the validators refuse it wherever it
is, naming the field, and the engine hashes it safely anyway (mmh3 crashed the process on it)."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

from flagsite_sdk.engine import (
    Evaluation,
    evaluate,
    validate_flag,
    validate_ruleset,
    validate_segment,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from .builders import boolean_flag, clause, rule, ruleset, segment

# Any text, lone surrogates included (Hypothesis leaves them out of st.text() by default).
texts = st.text(
    st.characters() | st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF),
    min_size=1,
    max_size=8,
)
ROLLOUT = {"percentage": 50}


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def test_a_rule_id_with_a_lone_surrogate_is_refused_naming_the_field() -> None:
    flag = boolean_flag(rules=[rule("\ud800", rollout=ROLLOUT)])
    errors = validate_ruleset({"flags": {"f": flag}, "segments": {}})
    assert [e.path for e in errors] == ['flags["f"].rules[0].id']
    assert "lone surrogate (U+D800)" in errors[0].message
    assert "cannot be encoded as UTF-8" in errors[0].message


def test_surrogates_are_refused_in_every_key_id_name_and_value() -> None:
    flag = boolean_flag(
        "f\udc00",
        variants=[{"key": "on", "value": True}, {"key": "off", "value": False}],
        salt="s\ud801",
        rules=[
            rule("r1", clause("attr\udfff", "in", "v\ud800"), name="n\ud800"),
            rule("r2", serve={"variant": "on"}, description={"k\udc01": 1}),
        ],
    )
    paths = {e.path for e in validate_flag(flag, segments={})}
    assert {
        "key",
        "salt",
        "rules[0].name",
        "rules[0].clauses[0].attribute",
        "rules[0].clauses[0].values[0]",
        'rules[1].description["k\\udc01"]',
    } <= paths
    seg = segment("s\ud800", included=["ok", "bad\udc00"])
    assert {e.path for e in validate_segment(seg)} >= {"key", "included[1]"}


def test_error_messages_and_paths_are_themselves_valid_utf8() -> None:
    # The API sends them back as JSON: they must never carry the surrogate itself.
    data = {"flags": {"f\ud800": boolean_flag("f\ud800", rules=[rule("\ud800")])}, "segments": {}}
    for error in validate_ruleset(data):
        json.dumps([error.path, error.message], ensure_ascii=False).encode("utf-8")


def test_the_sdk_client_evaluates_such_a_rule_without_crashing() -> None:
    # Before: Client(...).variation() died with SIGSEGV inside mmh3 (exit code 139).
    flag = boolean_flag(rules=[rule("\ud800", rollout=ROLLOUT)])
    data = {"schema": 1, "version": 1, "flags": {"f": flag}, "segments": {}}
    script = (
        "import json, sys\n"
        "from flagsite_sdk import Client\n"
        "data = json.loads(sys.stdin.read())\n"
        "client = Client(offline=True, bootstrap=data)\n"
        "print(sorted({client.variation('f', {'key': f'u{i}'}, False) for i in range(200)}))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script],
        input=json.dumps(data),  # ensure_ascii: the surrogate travels as \ud800
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[False, True]"


@settings(max_examples=150, deadline=None)
@given(
    rule_id=texts,
    flag_key=texts,
    segment_key=texts,
    group_id=texts,
    value=texts,
    attribute=texts,
)
def test_property_any_text_evaluates_safely_and_validates_iff_it_is_utf8(
    rule_id: str, flag_key: str, segment_key: str, group_id: str, value: str, attribute: str
) -> None:
    attribute = "a" + attribute  # a name that is not blank
    seg = segment(segment_key, clauses=[clause("tier", "in", value)], percentage=50)
    split = {
        "split": [{"variant": "on", "weight": 50}, {"variant": "off", "weight": 50}],
        "bucket_by": attribute,
        "hash": {"mode": "unleash", "group_id": group_id},
    }
    flag = boolean_flag(
        flag_key,
        rules=[
            rule(rule_id, {"op": "segment", "values": [segment_key]}, rollout=ROLLOUT),
            rule(rule_id + "-2", clause(attribute, "regex", "^x"), serve=split),
        ],
        default={**split, "hash": None},
    )
    compiled = ruleset(flag, segments=(seg,))
    for context in ({"key": value, "tier": value}, {"key": "k", attribute: value}):
        result = evaluate(compiled, flag_key, context)
        assert isinstance(result, Evaluation)
        assert result.error_code is None, (result, compiled.errors)
    document: dict[str, Any] = {
        "flags": {flag_key: flag},
        "segments": {segment_key: seg},
    }
    errors = validate_ruleset(document)
    clean = all(_encodable(t) for t in (rule_id, flag_key, segment_key, group_id, value, attribute))
    assert (errors == []) is clean, errors
