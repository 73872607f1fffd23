"""flagsite.jsonbody: the one JSON parser, its nesting-depth limit and the body size limit."""

from __future__ import annotations

import json

import pytest

from flagsite.jsonbody import MAX_DEPTH, JsonInputError, JsonTooDeep, json_parse, nesting_depth_over


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize("kind", [str, bytes])
def test_it_parses_up_to_the_limit(kind: type) -> None:
    text = nested(MAX_DEPTH)
    raw = text if kind is str else text.encode()
    assert json_parse(raw) == json.loads(text)


@pytest.mark.parametrize("kind", [str, bytes])
def test_one_level_more_is_refused_before_parsing(kind: type) -> None:
    text = nested(MAX_DEPTH + 1)
    with pytest.raises(JsonTooDeep, match=f"deeper than {MAX_DEPTH} levels"):
        json_parse(text if kind is str else text.encode())


@pytest.mark.parametrize("kind", [str, bytes])
def test_ten_thousand_brackets_are_a_clear_error_not_a_recursion_error(kind: type) -> None:
    for text in ("[" * 10_000, "{" + '"a":[' * 10_000, nested(100_000)):
        with pytest.raises(JsonTooDeep):
            json_parse(text if kind is str else text.encode())


def test_brackets_inside_strings_do_not_count() -> None:
    text = json.dumps({"a": "[" * 5_000, "b": ['{"[' * 100], "c": '\\"[[[['})
    assert json_parse(text)["a"] == "[" * 5_000
    assert json_parse(text.encode())["b"] == ['{"[' * 100]


def test_escaped_quotes_do_not_end_a_string() -> None:
    text = json.dumps(['\\"' + "[" * 200])
    assert not nesting_depth_over(text)
    assert json_parse(text) == ['\\"' + "[" * 200]


def test_many_shallow_brackets_are_fine() -> None:
    text = json.dumps({"events": [{"id": str(i), "flags": {"a": "b"}} for i in range(5_000)]})
    assert len(json_parse(text.encode())["events"]) == 5_000


def test_invalid_json_says_where() -> None:
    with pytest.raises(JsonInputError, match=r"Not valid JSON: .*line 1, column 2"):
        json_parse("{nope")
    with pytest.raises(JsonInputError, match="not UTF-8"):
        json_parse(b'["\xff"]')
