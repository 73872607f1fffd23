"""Who is limited how much (delivery/limits.py): client keys per caller IP under a per-key
ceiling, server keys per key, one trusted-proxy setting for every endpoint, and requests without a
known key limited per IP before any database lookup."""

from __future__ import annotations

import secrets
import time
from types import SimpleNamespace
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from delivery import auth
from tests.flags.test_api_support import (  # noqa: F401  (autouse fixture)
    CLIENT,
    SERVER,
    _fresh_key_cache,
    post_json,
)

EVALUATE = "/api/v1/evaluate"
CONTEXT = {"context": {"key": "u1"}}


def _evaluate(client: Any, ip: str, headers: dict[str, str] = CLIENT, **extra: Any) -> int:
    return int(post_json(client, EVALUATE, CONTEXT, REMOTE_ADDR=ip, **headers, **extra).status_code)


@pytest.fixture(autouse=True)
def _one_window(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test's requests fall in one rate-limit window. The windows are fixed minutes: a
    test whose 300 requests crossed a minute boundary (slow under a loaded machine or beside
    other test workers) would start counting again halfway and fail."""
    from delivery import ratelimit

    frozen = time.time()
    clock = SimpleNamespace(time=lambda: frozen, monotonic=time.monotonic)
    monkeypatch.setattr(ratelimit, "time", clock)


@pytest.fixture(autouse=True)
def _count_in_process(settings: Any) -> None:
    """The policy is the subject here, not the store: count in-process, so that a Redis call
    timing out on a busy machine (which fails open) cannot change the figures. The Redis path:
    test_limits_exact.py."""
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}


def _key_lookups(queries: CaptureQueriesContext) -> int:
    return sum('"flags_apikey"' in q["sql"] and "SELECT" in q["sql"] for q in queries)


@pytest.mark.django_db
def test_a_client_key_is_limited_per_caller_ip(client: Any, demo: Any, settings: Any) -> None:
    settings.FLAGSITE_RATE_LIMIT_CLIENT_PER_IP = 3
    assert [_evaluate(client, "198.51.100.1") for _ in range(4)] == [200, 200, 200, 429]
    # The same public key from another browser is not affected.
    assert _evaluate(client, "198.51.100.2") == 200
    ofrep = post_json(
        client, "/ofrep/v1/evaluate/flags", CONTEXT, REMOTE_ADDR="198.51.100.1", **CLIENT
    )
    assert ofrep.status_code == 429


@pytest.mark.django_db
def test_a_client_key_has_a_ceiling_for_the_whole_fleet(
    client: Any, demo: Any, settings: Any
) -> None:
    settings.FLAGSITE_RATE_LIMIT_CLIENT_PER_IP = 100
    settings.FLAGSITE_RATE_LIMIT_CLIENT_PER_KEY = 5
    assert [_evaluate(client, f"198.51.100.{i}") for i in range(1, 7)] == [200] * 5 + [429]


@pytest.mark.django_db
def test_a_caller_over_its_limit_does_not_use_up_the_ceiling(
    client: Any, demo: Any, settings: Any
) -> None:
    settings.FLAGSITE_RATE_LIMIT_CLIENT_PER_IP = 2
    settings.FLAGSITE_RATE_LIMIT_CLIENT_PER_KEY = 4
    # One address hammers: 2 admitted, 8 refused, and the refused ones are counted nowhere.
    assert [_evaluate(client, "203.0.113.9") for _ in range(10)] == [200, 200] + [429] * 8
    assert [_evaluate(client, "198.51.100.1") for _ in range(2)] == [200, 200]
    assert _evaluate(client, "198.51.100.2") == 429  # the ceiling: 4 admitted in all


@pytest.mark.django_db
def test_a_server_key_is_limited_per_key_whatever_the_address(
    client: Any, demo: Any, settings: Any
) -> None:
    settings.FLAGSITE_RATE_LIMIT_PER_MINUTE = 2
    settings.FLAGSITE_RATE_LIMIT_CLIENT_PER_IP = 1
    statuses = [_evaluate(client, f"10.0.0.{i}", SERVER) for i in range(1, 4)]
    assert statuses == [200, 200, 429]


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["FLAGSITE_TRUSTED_PROXY_COUNT", "FEEDBACK_PROXY_COUNT"])
def test_behind_trusted_proxies_the_caller_is_read_from_x_forwarded_for(
    client: Any, demo: Any, settings: Any, name: str
) -> None:
    settings.FLAGSITE_RATE_LIMIT_CLIENT_PER_IP = 1
    setattr(settings, name, 1)  # the new name, or its deprecated alias
    assert _evaluate(client, "10.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.1") == 200
    assert _evaluate(client, "10.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.2") == 200
    assert _evaluate(client, "10.0.0.1", HTTP_X_FORWARDED_FOR="spoofed, 203.0.113.2") == 429


@pytest.mark.django_db
def test_without_trusted_proxies_x_forwarded_for_is_ignored(
    client: Any, demo: Any, settings: Any
) -> None:
    settings.FLAGSITE_RATE_LIMIT_CLIENT_PER_IP = 1
    assert _evaluate(client, "10.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.1") == 200
    assert _evaluate(client, "10.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.2") == 429


def test_the_old_proxy_setting_name_is_reported_as_deprecated(settings: Any) -> None:
    from delivery.checks import deprecated_proxy_setting

    assert deprecated_proxy_setting(None) == []
    settings.FEEDBACK_PROXY_COUNT = 1
    assert [w.id for w in deprecated_proxy_setting(None)] == ["delivery.W001"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", EVALUATE),
        ("get", "/api/v1/sdk/ruleset"),
        ("post", "/ofrep/v1/evaluate/flags"),
        ("post", "/api/v1/events"),
    ],
)
def test_random_keys_cost_at_most_the_per_ip_limit_in_lookups(
    client: Any, demo: Any, settings: Any, method: str, path: str
) -> None:
    settings.FLAGSITE_RATE_LIMIT_UNAUTHENTICATED_PER_IP = 10
    in_use = client.get("/api/v1/sdk/ruleset", REMOTE_ADDR="10.9.9.9", **SERVER)
    assert in_use.status_code == 200  # a key in use, known to this process from now on

    def call(**headers: str) -> int:
        if method == "get":
            return int(client.get(path, **headers).status_code)
        return int(client.post(path, "{}", content_type="application/json", **headers).status_code)

    with CaptureQueriesContext(connection) as queries:
        statuses = [
            call(HTTP_AUTHORIZATION=f"Bearer fs_srv_{secrets.token_urlsafe(32)}")
            for _ in range(300)
        ]
    assert statuses == [401] * 10 + [429] * 290
    assert _key_lookups(queries) == 10
    # Another address still gets its own budget, and the key in use is not limited by any of it.
    assert call(REMOTE_ADDR="198.51.100.7") == 401
    assert client.get("/api/v1/sdk/ruleset", **SERVER).status_code == 200


@pytest.mark.django_db
def test_requests_without_a_key_are_limited_per_ip(client: Any, demo: Any, settings: Any) -> None:
    settings.FLAGSITE_RATE_LIMIT_UNAUTHENTICATED_PER_IP = 3
    assert _evaluate(client, "127.0.0.1") == 200  # a key in use (its first lookup counts)
    statuses = [post_json(client, EVALUATE, CONTEXT).status_code for _ in range(4)]
    assert statuses == [401, 401, 429, 429]
    assert _evaluate(client, "127.0.0.1") == 200  # the key in use is unaffected


@pytest.mark.django_db
def test_an_unknown_key_is_looked_up_once(client: Any, demo: Any, settings: Any) -> None:
    settings.FLAGSITE_RATE_LIMIT_UNAUTHENTICATED_PER_IP = 0
    bad = {"HTTP_X_API_KEY": "fs_cli_" + secrets.token_urlsafe(32)}
    with CaptureQueriesContext(connection) as queries:
        statuses = [post_json(client, EVALUATE, CONTEXT, **bad).status_code for _ in range(20)]
    assert statuses == [401] * 20
    assert _key_lookups(queries) == 1


@pytest.mark.django_db
def test_a_flood_of_unknown_keys_never_evicts_known_ones(
    client: Any, demo: Any, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.FLAGSITE_RATE_LIMIT_UNAUTHENTICATED_PER_IP = 0
    monkeypatch.setattr(auth, "MAX_CACHED_KEYS", 5)
    monkeypatch.setattr(auth, "MAX_UNKNOWN_KEYS", 5)
    assert _evaluate(client, "127.0.0.1") == 200
    for _ in range(20):
        bad = {"HTTP_X_API_KEY": "fs_cli_" + secrets.token_urlsafe(32)}
        assert post_json(client, EVALUATE, CONTEXT, **bad).status_code == 401
    with CaptureQueriesContext(connection) as queries:
        assert _evaluate(client, "127.0.0.1") == 200
    assert _key_lookups(queries) == 0


@pytest.mark.django_db
def test_a_new_key_is_not_mistaken_for_an_unknown_one_for_long(
    client: Any, demo: Any, settings: Any, actor: Any
) -> None:
    # A key created after a process saw it as unknown works once the negative entry expires.
    settings.FLAGSITE_API_KEY_NEGATIVE_SECONDS = 0
    from delivery.keys import api_key_create
    from delivery.models import ApiKey
    from flags.models import Environment

    raw = ApiKey.generate("client")
    assert post_json(client, EVALUATE, CONTEXT, HTTP_X_API_KEY=raw).status_code == 401
    env = Environment.objects.get(key="development")
    api_key_create(environment=env, kind="client", name="late", actor=actor, raw=raw)
    assert post_json(client, EVALUATE, CONTEXT, HTTP_X_API_KEY=raw).status_code == 200


@pytest.mark.django_db
def test_feedback_and_events_count_unknown_keys_per_ip_too(
    client: Any, demo: Any, settings: Any
) -> None:
    settings.FLAGSITE_RATE_LIMIT_UNAUTHENTICATED_PER_IP = 2
    settings.FEEDBACK_RATE_LIMIT_PER_IP = 100
    bad = {"HTTP_X_API_KEY": "fs_cli_nope"}
    body = {"id": "f1", "conversation_id": "c1", "type": "thumbs_up"}
    statuses = [post_json(client, "/api/v1/feedback", body, **bad).status_code for _ in range(3)]
    assert statuses == [401, 401, 429]
    assert post_json(client, "/api/v1/events", {"events": []}, **bad).status_code == 429
