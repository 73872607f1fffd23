"""Sign-in throttling per (account, caller IP) and per caller IP (flagsite/login.py)."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from django.test import Client, RequestFactory, override_settings

from flagsite.login import LoginThrottled, login_attempt_start
from tests.services import redis_url

A, B = "203.0.113.7", "198.51.100.9"


def _login(client: Client, username: str, password: str, ip: str = A) -> Any:
    return client.post("/login/", {"username": username, "password": password}, REMOTE_ADDR=ip)


def _signed_in(response: Any) -> bool:
    return response.status_code == 302 and "_auth_user_id" in response.client.session


@pytest.fixture
def redis_cache(settings: Any) -> None:
    """The production setup: the shared cache is Redis."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": redis_url(),
            "KEY_PREFIX": "flagsite-test-login",
        }
    }
    from django.core.cache import caches

    # Only this test's keys: a flush would also empty other users of that Redis database.
    backend: Any = caches["default"]
    client = backend._cache.get_client(write=True)
    for key in client.scan_iter(match="flagsite-test-login:*"):
        client.delete(key)


def test_five_wrong_passwords_then_even_the_right_one_is_refused(
    client: Client, admin_user: Any, redis_cache: None
) -> None:
    # Given five wrong passwords for alice from one address, each answered normally
    for _ in range(5):
        response = _login(client, "alice", "wrong")
        assert response.status_code == 200
        assert "Please enter a correct username and password" in response.content.decode()
    # When the sixth attempt brings the right password
    response = _login(client, "alice", "pw-alice")
    # Then it is refused with a clear message and Retry-After, and nobody is signed in
    assert response.status_code == 429
    assert "Too many failed sign-in attempts" in response.content.decode()
    assert "15 minute" in response.content.decode()
    assert int(response["Retry-After"]) == 900
    assert "_auth_user_id" not in client.session


def test_an_attacker_cannot_lock_the_owner_out_from_elsewhere(
    admin_user: Any, redis_cache: None
) -> None:
    attacker, owner = Client(), Client()
    for _ in range(10):
        _login(attacker, "alice", "wrong", ip=A)
    assert _login(attacker, "alice", "pw-alice", ip=A).status_code == 429
    # The owner, from her own address, signs in at once.
    assert _signed_in(_login(owner, "alice", "pw-alice", ip=B))


@override_settings(FLAGSITE_LOGIN_FAILURES_PER_IP=8)
def test_one_address_spraying_many_accounts_is_refused(
    client: Client, admin_user: Any, editor_user: Any, redis_cache: None
) -> None:
    # Given eight failures from one address, each for a different account
    for i in range(8):
        assert _login(client, f"user{i}", "wrong").status_code == 200
    # Then the address is refused for any account, even with a right password,
    response = _login(client, "eddie", "pw-eddie")
    assert response.status_code == 429
    assert "from your address" in response.content.decode()
    # while another address is not.
    assert _signed_in(_login(Client(), "eddie", "pw-eddie", ip=B))


def test_a_right_password_resets_the_accounts_count(
    client: Client, admin_user: Any, redis_cache: None
) -> None:
    for _ in range(4):
        _login(client, "alice", "wrong")
    assert _signed_in(_login(client, "alice", "pw-alice"))
    client.logout()
    for _ in range(4):
        assert _login(client, "alice", "wrong").status_code == 200
    assert _signed_in(_login(client, "alice", "pw-alice"))


@override_settings(FLAGSITE_LOGIN_LOCKOUT_SECONDS=1, FLAGSITE_LOGIN_FAILURES_PER_ACCOUNT_IP=2)
def test_the_lockout_ends(client: Client, admin_user: Any, redis_cache: None) -> None:
    for _ in range(2):
        _login(client, "alice", "wrong")
    response = _login(client, "alice", "pw-alice")
    assert response.status_code == 429
    assert "1 minute" in response.content.decode()
    time.sleep(1.5)
    assert _signed_in(_login(client, "alice", "pw-alice"))


@override_settings(FLAGSITE_LOGIN_FAILURES_PER_ACCOUNT_IP=3)
def test_the_numbers_are_settings_and_work_without_redis(client: Client, admin_user: Any) -> None:
    # The embedded default's cache (no Redis) throttles the same way.
    for _ in range(3):
        assert _login(client, "alice", "wrong").status_code == 200
    assert _login(client, "alice", "wrong").status_code == 429


def test_the_admin_login_is_throttled_too(
    client: Client, admin_user: Any, redis_cache: None
) -> None:
    url = "/django-admin/login/?next=/django-admin/"
    for _ in range(5):
        client.post(url, {"username": "alice", "password": "wrong"}, REMOTE_ADDR=A)
    response = client.post(url, {"username": "alice", "password": "pw-alice"}, REMOTE_ADDR=A)
    assert "Too many failed sign-in attempts" in response.content.decode()
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
@override_settings(FLAGSITE_LOGIN_FAILURES_PER_IP=1000)  # only the (account, IP) limit in play
@pytest.mark.parametrize("account", ["alice", "bob", "carol"])
def test_a_concurrent_burst_admits_exactly_the_limit(redis_cache: None, account: str) -> None:
    # Given 40 guesses for one account from one address, all at once (as from many workers)
    request = RequestFactory().post("/login/", REMOTE_ADDR=A)
    admitted: list[int] = []
    refused: list[int] = []
    start = threading.Barrier(40)

    def guess() -> None:
        start.wait()
        try:
            login_attempt_start(request, account)
        except LoginThrottled:
            refused.append(1)
        else:
            admitted.append(1)  # a wrong password: the count is kept

    threads = [threading.Thread(target=guess) for _ in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # Then the shared count lets exactly five through, and the next guess is refused too.
    assert (len(admitted), len(refused)) == (5, 35)
    with pytest.raises(LoginThrottled):
        login_attempt_start(request, account)


@override_settings(FLAGSITE_TRUSTED_PROXY_COUNT=1)
def test_behind_a_trusted_proxy_the_forwarded_address_counts(
    admin_user: Any, redis_cache: None
) -> None:
    client = Client()
    for _ in range(5):
        client.post(
            "/login/",
            {"username": "alice", "password": "wrong"},
            REMOTE_ADDR="10.0.0.1",
            HTTP_X_FORWARDED_FOR=A,
        )
    blocked = client.post(
        "/login/",
        {"username": "alice", "password": "pw-alice"},
        REMOTE_ADDR="10.0.0.1",
        HTTP_X_FORWARDED_FOR=A,
    )
    assert blocked.status_code == 429
    # The same proxy, another caller: not affected.
    other = Client().post(
        "/login/",
        {"username": "alice", "password": "pw-alice"},
        REMOTE_ADDR="10.0.0.1",
        HTTP_X_FORWARDED_FOR=B,
    )
    assert other.status_code == 302
