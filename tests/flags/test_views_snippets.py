"""The flag page's "How to use it" snippets (flags/snippets.py, templates/flags/_snippets.html):
right for the selected environment, the flag's kind and its off-variant default, and they work
when pasted (the curl request is replayed through the test client against the real OFREP view,
the Python snippets compile and carry the default as a Python literal)."""

from __future__ import annotations

import ast
import html
import json
import re
import shlex
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.test import Client

from delivery.keys import api_key_create
from flags.changes import Actor, flag_create
from tests.flags.builders import environments
from tests.flags.ui_support import HTMX, client_for, setup_flag

pytestmark = pytest.mark.django_db

TRICKY = {"prompt": 'it\'s "quoted" \\ and ünïcode', "on": True, "none": None, "n": [1, 2.5]}


def _snippet(body: str, slug: str) -> str:
    match = re.search(rf'data-snippet="{slug}">(.*?)</pre>', body, re.S)
    assert match, f"no {slug} snippet"
    return html.unescape(match.group(1))


def _json_flag() -> Any:
    environments()
    return flag_create(
        key="rag-config",
        name="RAG config",
        kind="json",
        variants=[{"key": "new", "value": {"top_k": 9}}, {"key": "plain", "value": TRICKY}],
        actor=Actor(label="test"),
    )


def _default_literal(code: str) -> Any:
    """The evaluation call's name and its default argument, as a Python value."""
    tree = ast.parse(code)
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call)]
    name, call = next(
        (c.func.attr, c)
        for c in calls
        if isinstance(c.func, ast.Attribute)
        and (c.func.attr.endswith("_variation") or c.func.attr.endswith("_value"))
    )
    index = 2 if name.endswith("_variation") else 1
    return name, ast.literal_eval(call.args[index])


def test_python_snippets_compile_with_the_off_variant_as_default(viewer_user: Any) -> None:
    flag = _json_flag()
    off = flag.configs.get(environment__key="dev").off_variant
    expected = next(v["value"] for v in flag.variants if v["key"] == off)
    body = client_for(viewer_user).get("/flags/rag-config/?env=dev").content.decode()
    python = _snippet(body, "python")
    compile(python, "snippet", "exec")
    assert _default_literal(python) == ("json_variation", expected)
    openfeature = _snippet(body, "openfeature")
    compile(openfeature, "snippet", "exec")
    assert _default_literal(openfeature) == ("get_object_value", expected)
    assert "'rag-config'" in python and "http://testserver'" in python


def test_a_boolean_flag_gets_its_kind_and_false(viewer_user: Any) -> None:
    setup_flag()
    body = client_for(viewer_user).get("/flags/new-checkout/").content.decode()
    assert _default_literal(_snippet(body, "python")) == ("bool_variation", False)
    assert _default_literal(_snippet(body, "openfeature")) == ("get_boolean_value", False)
    assert "data-snippets-kind>boolean<" in body


def test_the_curl_command_works_when_replayed(viewer_user: Any) -> None:
    _json_flag()
    _, prod = environments()
    body = client_for(viewer_user).get("/flags/rag-config/?env=prod").content.decode()
    words = shlex.split(_snippet(body, "curl").replace("\\\n", " "))
    assert words[:3] == ["curl", "-X", "POST"]
    url = urlsplit(words[3])
    headers = dict(words[i + 1].split(": ", 1) for i, w in enumerate(words) if w == "-H")
    data = words[words.index("-d") + 1]
    _, raw = api_key_create(environment=prod, kind="client", name="t", actor=Actor(label="t"))
    assert headers["Authorization"] == "Bearer fs_cli_..."
    headers["Authorization"] = f"Bearer {raw}"
    response = Client().post(
        url.path,
        data=data,
        content_type=headers.pop("Content-Type"),
        headers=headers,
    )
    assert response.status_code == 200, response.content
    answer = response.json()
    assert answer["key"] == "rag-config"
    assert answer["value"] == TRICKY  # off in prod: the off variant's value
    assert json.loads(data) == {"context": {"targetingKey": "user-123"}}


def test_switching_environment_updates_the_snippets_out_of_band(viewer_user: Any) -> None:
    setup_flag()
    response = client_for(viewer_user).get("/flags/new-checkout/env/prod/targeting/", headers=HTMX)
    body = response.content.decode()
    assert 'id="usage-snippets"' in body and 'hx-swap-oob="true"' in body
    assert "data-snippets-env>Prod<" in body
