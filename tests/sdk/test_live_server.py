"""The SDK against a real flagsite server (pytest-django's live_server), through a loopback
proxy the tests can take down and bring back, to play a server outage."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlparse

import pytest
from flagsite_sdk.client import Client

from flags.changes import Actor, flag_config_update
from flags.demo import DEMO_CLIENT_KEY, DEMO_SERVER_KEY
from flags.models import Environment, Flag
from tests.sdk.fakes import Proxy, wait_for

pytestmark = pytest.mark.django_db(transaction=True)

ACTOR = Actor(label="sdk test")
BOB = {"key": "bob-42", "email": "bob@example.com"}


@pytest.fixture
def server(live_server: Any, demo: dict[str, str], settings: Any) -> Iterator[Proxy]:
    """The live server with the demo data, behind a proxy on a fixed loopback port."""
    settings.ALLOWED_HOSTS = ["127.0.0.1", "localhost"]  # the proxy's port differs
    settings.FLAGSITE_RATE_LIMIT_PER_MINUTE = 0
    settings.FEEDBACK_RATE_LIMIT_PER_KEY = 0
    settings.FEEDBACK_RATE_LIMIT_PER_IP = 0
    parsed = urlparse(live_server.url)
    proxy = Proxy((parsed.hostname or "127.0.0.1", parsed.port or 80))
    yield proxy
    proxy.down()


def set_model_default(variant: str) -> None:
    flag_config_update(
        flag=Flag.objects.get(key="llm-model"),
        environment=Environment.objects.get(key="development"),
        actor=ACTOR,
        comment="sdk test",
        default={"variant": variant},
    )


def test_a_server_change_is_seen_within_one_poll_interval(
    server: Proxy, make_client: Callable[..., Client]
) -> None:
    client = make_client(server.url, DEMO_SERVER_KEY, poll_interval=0.2, timeout=2.0)
    assert client.stats.ruleset_source == "server"
    assert client.variation("llm-model", BOB, "x") == "gpt-4-turbo"
    # When someone changes the flag on the server
    set_model_default("gpt-4")
    changed_at = time.monotonic()
    # Then the SDK serves the new value within one poll interval (plus the request itself)
    wait_for(lambda: client.variation("llm-model", BOB, "x") == "gpt-4", timeout=3)
    assert time.monotonic() - changed_at < 0.2 + 0.25
    assert client.stats.poll_not_modified >= 0 and client.stats.poll_updates == 2


def test_an_outage_keeps_the_last_values_and_polling_resumes(
    server: Proxy, make_client: Callable[..., Client]
) -> None:
    client = make_client(server.url, DEMO_SERVER_KEY, poll_interval=0.1, backoff_max=0.4)
    assert client.variation("llm-model", BOB, "x") == "gpt-4-turbo"
    # Given the server goes away
    server.down()
    wait_for(lambda: client.stats.poll_failures_in_a_row >= 2, timeout=3)
    # Then the last known values keep being served, and nothing raises
    for _ in range(100):
        assert client.variation("llm-model", BOB, "x") == "gpt-4-turbo"
    # When it comes back with a change made meanwhile
    set_model_default("gpt-4")
    server.up()
    # Then polling resumes and picks the change up
    wait_for(lambda: client.variation("llm-model", BOB, "x") == "gpt-4", timeout=3)
    wait_for(lambda: client.stats.poll_failures_in_a_row == 0)


def test_a_wrong_key_serves_defaults_and_stops_polling(
    server: Proxy, make_client: Callable[..., Client]
) -> None:
    client = make_client(server.url, "fs_srv_not_a_real_key")
    assert client.variation("llm-model", BOB, "fallback") == "fallback"
    assert client.evaluate("llm-model", BOB, "fallback").error_code == "PROVIDER_NOT_READY"
    assert client.stats.poll_stopped_reason == "HTTP 401" and not client.stats.polling


def test_a_client_key_cannot_download_the_ruleset(
    server: Proxy, make_client: Callable[..., Client]
) -> None:
    client = make_client(server.url, DEMO_CLIENT_KEY)
    assert client.stats.poll_stopped_reason == "HTTP 403"
    assert client.variation("llm-model", BOB, "fallback") == "fallback"


def test_events_sent_during_an_outage_arrive_after_it_exactly_once(
    server: Proxy, make_client: Callable[..., Client]
) -> None:
    from feedback.models import Exposure, Feedback, ImplicitSignal, LlmCall

    client = make_client(
        server.url, DEMO_SERVER_KEY, poll_interval=0.1, backoff_max=0.3, events_batch_size=7
    )
    # Given the server is down
    server.down()
    # When the application evaluates and reports
    users = [f"user-{i}" for i in range(20)]
    for user in users:
        client.variation("llm-model", {"key": user}, "x")
        client.variation("llm-model", {"key": user}, "x")  # one exposure per user
    call_ids = {
        client.track_llm_call(
            model="gpt-4-turbo",
            user_key=user,
            prompt_tokens=10,
            completion_tokens=20,
            latency_ms=850.0,
            flags={"llm-model": "gpt-4-turbo"},
        )
        for user in users
    }
    signal_ids = {
        client.track_implicit(conversation_id=f"c-{i}", signal="regenerated") for i in range(5)
    }
    feedback_ids = {
        client.feedback(
            type="thumbs_down", conversation_id=f"c-{i}", rating=2, category="hallucination"
        )
        for i in range(3)
    }
    wait_for(lambda: client.stats.event_send_errors >= 2, timeout=3)
    assert client.stats.events_sent == 0
    # ... and when it comes back, the first answers get lost on the way (the server stored
    # the events, the SDK never heard so and sends them again with the same ids)
    server.lose_post_answers = 2
    server.up()
    assert client.flush(timeout=10)
    # Then every event is stored exactly once
    assert Exposure.objects.count() == 20
    assert set(Exposure.objects.values_list("user_key", flat=True)) == set(users)
    assert LlmCall.objects.count() == 20
    assert set(LlmCall.objects.values_list("event_id", flat=True)) == call_ids
    assert set(ImplicitSignal.objects.values_list("event_id", flat=True)) == signal_ids
    assert set(Feedback.objects.values_list("event_id", flat=True)) == feedback_ids
    assert server.lose_post_answers == 0  # the lost answers did happen
    stats = client.stats
    assert stats.events_sent == 48 and stats.events_dropped == 0 and stats.events_rejected == 0
