"""POST /api/v1/evaluate: server-side evaluation for either kind of key."""

from __future__ import annotations

from typing import Any

import pytest

from flags.changes import Actor, flag_toggle
from flags.models import Environment, Flag
from tests.flags.test_api_support import (  # noqa: F401  (autouse fixture)
    CLIENT,
    SERVER,
    _fresh_key_cache,
    error_fields,
    post_json,
)

URL = "/api/v1/evaluate"
INTERNAL = {"key": "alice", "email": "alice@flagsite.dev"}


@pytest.mark.django_db
def test_it_evaluates_every_flag_for_a_server_key(client: Any, demo: Any) -> None:
    response = post_json(client, URL, {"context": INTERNAL}, **SERVER)
    assert response.status_code == 200
    flags = response.json()["flags"]
    assert set(flags) == set(Flag.objects.values_list("key", flat=True))
    assert flags["llm-model"] == {
        "value": "gpt-4-turbo",
        "variant": "gpt-4-turbo",
        "reason": "TARGETING_MATCH",
        "error_code": None,
        "rule_id": "internal",
    }
    assert response["ETag"].startswith('"')


@pytest.mark.django_db
def test_client_keys_get_no_rule_ids(client: Any, demo: Any) -> None:
    response = post_json(client, URL, {"context": INTERNAL}, **CLIENT)
    assert response.status_code == 200
    for result in response.json()["flags"].values():
        assert set(result) == {"value", "variant", "reason", "error_code"}


@pytest.mark.django_db
def test_it_evaluates_only_the_listed_flags(client: Any, demo: Any) -> None:
    response = post_json(
        client, URL, {"context": {"key": "x"}, "flags": ["llm-model", "nope"]}, **CLIENT
    )
    flags = response.json()["flags"]
    assert list(flags) == ["llm-model", "nope"]
    assert flags["nope"] == {
        "value": None,
        "variant": None,
        "reason": "ERROR",
        "error_code": "FLAG_NOT_FOUND",
    }


@pytest.mark.django_db
def test_targeting_key_is_an_alias_of_key(client: Any, demo: Any) -> None:
    by_key = post_json(client, URL, {"context": INTERNAL}, **SERVER).json()
    alias = {"targetingKey": "alice", "email": "alice@flagsite.dev"}
    assert post_json(client, URL, {"context": alias}, **SERVER).json() == by_key


@pytest.mark.django_db
def test_it_answers_304_when_the_etag_matches(client: Any, demo: Any) -> None:
    first = post_json(client, URL, {"context": INTERNAL}, **CLIENT)
    again = post_json(
        client, URL, {"context": INTERNAL}, HTTP_IF_NONE_MATCH=first["ETag"], **CLIENT
    )
    assert again.status_code == 304
    assert again.content == b""
    assert again["ETag"] == first["ETag"]
    other = post_json(
        client, URL, {"context": {"key": "zed"}}, HTTP_IF_NONE_MATCH=first["ETag"], **CLIENT
    )
    assert other.status_code == 200


@pytest.mark.django_db
def test_steady_state_makes_no_database_queries(
    client: Any, demo: Any, settings: Any, django_assert_num_queries: Any
) -> None:
    settings.FLAGSITE_API_KEY_RECHECK_SECONDS = 60
    post_json(client, URL, {"context": INTERNAL}, **CLIENT)  # warm: key + ruleset
    with django_assert_num_queries(0):
        for _ in range(5):
            assert post_json(client, URL, {"context": INTERNAL}, **CLIENT).status_code == 200


@pytest.mark.django_db
def test_a_change_is_served_after_commit(
    client: Any, demo: Any, django_capture_on_commit_callbacks: Any
) -> None:
    post_json(client, URL, {"context": INTERNAL}, **CLIENT)
    dev = Environment.objects.get(key="development")
    with django_capture_on_commit_callbacks(execute=True):
        flag_toggle(
            flag=Flag.objects.get(key="llm-model"),
            environment=dev,
            enabled=False,
            actor=Actor(label="test"),
        )
    result = post_json(client, URL, {"context": INTERNAL}, **CLIENT).json()["flags"]["llm-model"]
    assert result["reason"] == "DISABLED"
    assert result["variant"] == "gpt-4"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "field"),
    [
        ("{not json", "body"),
        ("", "body"),
        ("[1, 2]", "body"),
        ({"flags": ["llm-model"]}, "context"),
        ({"context": "alice"}, "context"),
        ({"context": {"key": ["a"]}}, "context.key"),
        ({"context": {"targetingKey": {"a": 1}}}, "context.targetingKey"),
        ({"context": {"key": "a", "targetingKey": "b"}}, "context.targetingKey"),
        ({"context": {}, "flags": "llm-model"}, "flags"),
        ({"context": {}, "flags": [1, 2]}, "flags"),
    ],
)
def test_malformed_input_is_a_400_naming_the_field(
    client: Any, demo: Any, body: Any, field: str
) -> None:
    response = post_json(client, URL, body, **CLIENT)
    assert response.status_code == 400
    assert field in error_fields(response)
    assert field in response.json()["error"]["message"]
