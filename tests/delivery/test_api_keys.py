"""API keys: both headers, 401 for wrong/revoked keys, 403 for the wrong kind, hashed storage,
last use, the in-process key cache and `manage.py create_api_key`."""

from __future__ import annotations

import time
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from delivery.keys import api_key_revoke
from delivery.models import ApiKey
from flags.changes import Actor
from flags.demo import DEMO_CLIENT_KEY, DEMO_SERVER_KEY
from tests.flags.test_api_support import (  # noqa: F401  (autouse fixture)
    CLIENT,
    SERVER,
    _fresh_key_cache,
    post_json,
)

RULESET = "/api/v1/sdk/ruleset"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "headers",
    [
        {"HTTP_AUTHORIZATION": f"Bearer {DEMO_SERVER_KEY}"},
        {"HTTP_AUTHORIZATION": f"bearer {DEMO_SERVER_KEY}"},
        {"HTTP_X_API_KEY": DEMO_SERVER_KEY},
    ],
)
def test_it_accepts_bearer_and_x_api_key(client: Any, demo: Any, headers: dict[str, str]) -> None:
    assert client.get(RULESET, **headers).status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"HTTP_AUTHORIZATION": "Bearer fs_srv_wrong"},
        {"HTTP_X_API_KEY": "nope"},
        {"HTTP_AUTHORIZATION": "Basic abc"},
    ],
)
def test_missing_or_wrong_keys_are_401(client: Any, demo: Any, headers: dict[str, str]) -> None:
    response = client.get(RULESET, **headers)
    assert response.status_code == 401
    assert response.json()["error"]["code"] in ("not_authenticated", "authentication_failed")
    assert "WWW-Authenticate" in response


@pytest.mark.django_db
def test_client_keys_may_not_download_the_ruleset(client: Any, demo: Any) -> None:
    response = client.get(RULESET, **CLIENT)
    assert response.status_code == 403
    assert "server" in response.json()["error"]["message"]


@pytest.mark.django_db
def test_keys_are_stored_hashed(demo: Any) -> None:
    row = ApiKey.objects.get(key_hash=ApiKey.hash_key(DEMO_SERVER_KEY))
    assert DEMO_SERVER_KEY not in (row.key_hash, row.hint)
    assert not ApiKey.objects.filter(key_hash=DEMO_SERVER_KEY).exists()


@pytest.mark.django_db
def test_it_records_last_use(client: Any, demo: Any) -> None:
    row = ApiKey.objects.get(key_hash=ApiKey.hash_key(DEMO_CLIENT_KEY))
    assert row.last_used_at is None
    post_json(client, "/api/v1/evaluate", {"context": {}}, **CLIENT)
    row.refresh_from_db()
    assert row.last_used_at is not None


@pytest.mark.django_db
def test_a_revoked_key_is_refused_within_the_recheck_interval(
    client: Any, demo: Any, settings: Any
) -> None:
    settings.FLAGSITE_API_KEY_RECHECK_SECONDS = 0.3
    assert client.get(RULESET, **SERVER).status_code == 200
    api_key_revoke(
        api_key=ApiKey.objects.get(key_hash=ApiKey.hash_key(DEMO_SERVER_KEY)),
        actor=Actor(label="test"),
    )
    time.sleep(0.35)
    assert client.get(RULESET, **SERVER).status_code == 401


@pytest.mark.django_db
def test_one_request_rechecks_a_known_key_while_the_others_keep_its_principal(
    demo: Any, settings: Any, monkeypatch: Any
) -> None:
    from delivery import auth

    settings.FLAGSITE_API_KEY_RECHECK_SECONDS = 60
    known = auth.principal_for_key(DEMO_SERVER_KEY)
    assert known is not None
    auth._keys[ApiKey.hash_key(DEMO_SERVER_KEY)].recheck_at = 0.0  # the recheck is due
    load = auth._load_principal
    during: list[Any] = []

    def slow_load(*args: Any) -> Any:
        # A request arriving while this recheck's query runs: served the known principal,
        # no second query.
        during.append(auth.principal_for_key(DEMO_SERVER_KEY))
        return load(*args)

    monkeypatch.setattr(auth, "_load_principal", slow_load)
    assert auth.principal_for_key(DEMO_SERVER_KEY) == known
    assert during == [known]  # one load (the nested call did not load again)
    # A revoked key found by the recheck is refused from then on.
    monkeypatch.setattr(auth, "_load_principal", load)
    api_key_revoke(
        api_key=ApiKey.objects.get(key_hash=ApiKey.hash_key(DEMO_SERVER_KEY)),
        actor=Actor(label="test"),
    )
    auth._keys[ApiKey.hash_key(DEMO_SERVER_KEY)].recheck_at = 0.0
    assert auth.principal_for_key(DEMO_SERVER_KEY) is None


@pytest.mark.django_db
def test_key_lookups_are_cached(
    client: Any, demo: Any, settings: Any, django_assert_num_queries: Any
) -> None:
    settings.FLAGSITE_API_KEY_RECHECK_SECONDS = 60
    client.get(RULESET, **SERVER)
    client.get(RULESET, HTTP_AUTHORIZATION="Bearer fs_srv_unknown")
    with django_assert_num_queries(0):
        assert client.get(RULESET, **SERVER).status_code == 200
        assert client.get(RULESET, HTTP_AUTHORIZATION="Bearer fs_srv_unknown").status_code == 401


@pytest.mark.django_db
@pytest.mark.parametrize("kind", ["server", "client"])
def test_create_api_key_prints_a_working_key(client: Any, demo: Any, kind: str) -> None:
    out = StringIO()
    call_command("create_api_key", "--environment", "staging", "--kind", kind, stdout=out)
    raw = out.getvalue().strip()
    assert raw.startswith(ApiKey.PREFIXES[ApiKey.Kind(kind)])
    row = ApiKey.objects.get(key_hash=ApiKey.hash_key(raw))
    assert (row.environment.key, row.kind) == ("staging", kind)
    response = post_json(
        client, "/api/v1/evaluate", {"context": {"key": "a"}}, HTTP_AUTHORIZATION=f"Bearer {raw}"
    )
    assert response.status_code == 200


@pytest.mark.django_db
def test_create_api_key_names_known_environments(demo: Any) -> None:
    with pytest.raises(CommandError, match="development"):
        call_command("create_api_key", "--environment", "nope", "--kind", "server")
