"""GET /api/v1/sdk/ruleset: the key's environment ruleset with an ETag; 304 when it matches."""

from __future__ import annotations

from typing import Any

import pytest
from flagsite_sdk.engine import compile_ruleset

from flags.changes import Actor, flag_toggle
from flags.models import Environment, Flag
from flags.ruleset import ruleset_build
from tests.flags.test_api_support import SERVER, _fresh_key_cache  # noqa: F401

URL = "/api/v1/sdk/ruleset"


@pytest.mark.django_db
def test_it_serves_the_environment_ruleset(client: Any, demo: Any) -> None:
    response = client.get(URL, **SERVER)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    data = response.json()
    assert data == ruleset_build(Environment.objects.get(key="development"))
    assert data["environment"] == "development"
    compile_ruleset(data)  # what an SDK does with it


@pytest.mark.django_db
def test_it_answers_304_without_a_body_when_the_etag_matches(client: Any, demo: Any) -> None:
    etag = client.get(URL, **SERVER)["ETag"]
    response = client.get(URL, HTTP_IF_NONE_MATCH=etag, **SERVER)
    assert response.status_code == 304
    assert response.content == b""
    assert response["ETag"] == etag
    for header in (f"W/{etag}", f'"other", {etag}', "*"):
        assert client.get(URL, HTTP_IF_NONE_MATCH=header, **SERVER).status_code == 304
    assert client.get(URL, HTTP_IF_NONE_MATCH='"stale"', **SERVER).status_code == 200


@pytest.mark.django_db
def test_the_etag_changes_with_the_ruleset(
    client: Any, demo: Any, django_capture_on_commit_callbacks: Any
) -> None:
    before = client.get(URL, **SERVER)
    with django_capture_on_commit_callbacks(execute=True):
        flag_toggle(
            flag=Flag.objects.get(key="llm-model"),
            environment=Environment.objects.get(key="development"),
            enabled=False,
            actor=Actor(label="test"),
        )
    after = client.get(URL, HTTP_IF_NONE_MATCH=before["ETag"], **SERVER)
    assert after.status_code == 200
    assert after["ETag"] != before["ETag"]
    assert after.json()["version"] > before.json()["version"]
    assert after.json()["flags"]["llm-model"]["enabled"] is False


@pytest.mark.django_db
def test_steady_state_makes_no_database_queries(
    client: Any, demo: Any, settings: Any, django_assert_num_queries: Any
) -> None:
    settings.FLAGSITE_API_KEY_RECHECK_SECONDS = 60
    etag = client.get(URL, **SERVER)["ETag"]
    with django_assert_num_queries(0):
        assert client.get(URL, **SERVER).status_code == 200
        assert client.get(URL, HTTP_IF_NONE_MATCH=etag, **SERVER).status_code == 304


@pytest.mark.django_db
def test_post_is_not_allowed(client: Any, demo: Any) -> None:
    response = client.post(URL, "{}", content_type="application/json", **SERVER)
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"
