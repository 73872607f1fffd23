"""Events: exposure de-duplication, the bounded queue, batching, ids and retries."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

import pytest
from flagsite_sdk.client import Client
from flagsite_sdk.events import EventBuffer, exposure_event

from tests.sdk.fakes import FakeServer, Reply, wait_for


def test_exposures_are_deduplicated_per_user_flag_and_variant() -> None:
    buffer = EventBuffer(capacity=100, dedup_size=100)
    for _ in range(3):
        buffer.expose("llm-model", "gpt-4", "u1")
    buffer.expose("llm-model", "gpt-4-turbo", "u1")  # another variant: a new exposure
    buffer.expose("llm-model", "gpt-4", "u2")  # another user
    buffer.expose("prompt", "gpt-4", "u1")  # another flag
    assert (len(buffer), buffer.deduplicated) == (4, 2)


def _exposed_users(items: Sequence[object]) -> list[Any]:
    exposures = [item for item in items if isinstance(item, tuple)]
    assert len(exposures) == len(items)  # nothing but exposures was queued
    return [exposure[2] for exposure in exposures]


def test_the_dedup_memory_is_a_bounded_lru() -> None:
    buffer = EventBuffer(capacity=100, dedup_size=4)  # two generations of two
    buffer.expose("f", "on", "u1")
    buffer.expose("f", "on", "u2")  # the recent generation is full: it becomes the older one
    buffer.expose("f", "on", "u1")  # re-seen: back into the recent generation
    buffer.expose("f", "on", "u3")  # full again: u2, seen least recently, is forgotten
    buffer.expose("f", "on", "u1")  # still remembered
    buffer.expose("f", "on", "u2")  # forgotten: recorded again
    assert _exposed_users(buffer.take(10)) == ["u1", "u2", "u3", "u2"]
    assert buffer.deduplicated == 2


def test_the_dedup_memory_stays_bounded() -> None:
    buffer = EventBuffer(capacity=10, dedup_size=100)
    for i in range(10_000):
        buffer.expose("f", "on", f"user-{i % 3000}")
        assert len(buffer._recent) + len(buffer._older) <= 100
    # A triple seen within the last dedup_size / 2 new ones is always remembered.
    for i in range(50):
        buffer.expose("g", "on", f"user-{i}")
    before = buffer.queued
    for i in range(50):
        buffer.expose("g", "on", f"user-{i}")
    assert buffer.queued == before


def test_a_full_queue_drops_the_oldest_and_counts_them() -> None:
    buffer = EventBuffer(capacity=3, dedup_size=100)
    for user in ["u1", "u2", "u3", "u4", "u5"]:
        buffer.expose("f", "on", user)
    assert buffer.dropped == 2 and buffer.queued == 5
    assert _exposed_users(buffer.take(10)) == ["u3", "u4", "u5"]


def test_client_counts_overflow_in_stats(
    fake: FakeServer, make_client: Callable[..., Client]
) -> None:
    client = make_client(fake.url, events_capacity=5, events_flush_interval=60)
    for i in range(12):
        client.variation("llm-model", {"key": f"user-{i}"}, "x")
    stats = client.stats
    assert (stats.events_queued, stats.events_in_queue, stats.events_dropped) == (12, 5, 7)


def test_exposure_wire_format() -> None:
    event = exposure_event(("llm-model", "gpt-4", "u1", 1_764_072_000.5, ""))
    assert event["type"] == "exposure" and len(event["id"]) == 36
    assert event == {
        **event,
        "flag": "llm-model",
        "variant": "gpt-4",
        "user_key": "u1",
        "timestamp": "2025-11-25T12:00:00.500Z",
    }
    assert "experiment" not in event
    in_experiment = exposure_event(("llm-model", "gpt-4", "u1", 1_764_072_000.5, "model-test"))
    assert in_experiment["experiment"] == "model-test"


def test_exposures_and_events_arrive_in_batches_with_ids(
    fake: FakeServer, make_client: Callable[..., Client]
) -> None:
    client = make_client(fake.url, events_batch_size=10)
    for i in range(25):
        client.variation("llm-model", {"key": f"user-{i}"}, "x")
        client.variation("llm-model", {"key": f"user-{i}"}, "x")  # deduplicated
    call_id = client.track_llm_call(
        model="gpt-4",
        user_key="u1",
        prompt_tokens=3,
        latency_ms=120.5,
        flags={"llm-model": "gpt-4"},
    )
    signal_id = client.track_implicit(conversation_id="c1", signal="regenerated")
    assert client.flush(timeout=5)
    assert len(fake.stored) == 27 and len(fake.event_ids) == 27
    assert fake.stored[call_id] == {
        **fake.stored[call_id],
        "type": "llm_call",
        "model": "gpt-4",
        "prompt_tokens": 3,
        "latency_ms": 120.5,
    }
    assert fake.stored[signal_id]["signal"] == "regenerated"
    batches = [r.json()["events"] for r in fake.requests if r.path == "/api/v1/events"]
    assert max(len(b) for b in batches) <= 10
    assert all(r.headers["Authorization"] == "Bearer fs_srv_test" for r in fake.requests)
    assert client.stats.events_sent == 27 and client.stats.exposures_deduplicated == 25


def test_feedback_goes_to_the_feedback_endpoint(
    fake: FakeServer, make_client: Callable[..., Client]
) -> None:
    client = make_client(fake.url, record_exposures=False)
    feedback_id = client.feedback(
        type="thumbs_down",
        conversation_id="c9",
        rating=2,
        comment="made up a citation",
        category="hallucination",
    )
    assert client.flush(timeout=5)
    (request,) = [r for r in fake.requests if r.path == "/api/v1/feedback"]
    assert request.json() == {
        **request.json(),
        "id": feedback_id,
        "type": "thumbs_down",
        "rating": 2,
        "category": "hallucination",
    }


def test_failed_sends_are_retried_with_the_same_ids(
    fake: FakeServer, make_client: Callable[..., Client]
) -> None:
    # Given a server that stores the batch but whose answer is lost (500), twice
    attempts = {"n": 0}

    def flaky(request: Any) -> Reply:
        attempts["n"] += 1
        reply = fake._events(request)
        return Reply(500, "oops") if attempts["n"] <= 2 else reply

    fake.on("/api/v1/events", flaky)
    client = make_client(fake.url, record_exposures=False)
    ids = [client.track_implicit(conversation_id=f"c{i}", signal="copied") for i in range(5)]
    # When the sender retries
    wait_for(lambda: attempts["n"] >= 3)
    assert client.flush(timeout=5)
    # Then every id was sent three times and is stored once
    assert sorted(fake.stored) == sorted(ids)
    assert len(fake.event_ids) == 15
    stats = client.stats
    assert stats.event_send_errors == 2 and stats.events_sent == 5


def test_429_retry_after_is_honoured(fake: FakeServer, make_client: Callable[..., Client]) -> None:
    fake.fail("/api/v1/events", Reply(429, {"error": "slow down"}, {"Retry-After": "1"}))
    client = make_client(fake.url, record_exposures=False)
    client.track_implicit(conversation_id="c", signal="copied")
    wait_for(lambda: [r for r in fake.requests if r.path == "/api/v1/events"])
    threading.Event().wait(0.5)  # backoff alone would have retried several times by now
    assert len([r for r in fake.requests if r.path == "/api/v1/events"]) == 1
    fake.heal()
    wait_for(lambda: fake.stored, timeout=3)


# The server's answer while its database is unreachable (tests/flagsite/test_outage.py).
OUTAGE = Reply(
    503,
    {"error": {"code": "unavailable", "message": "The database is unreachable; try again."}},
    {"Retry-After": "1", "Content-Type": "application/json"},
)


@pytest.mark.parametrize("path", ["/api/v1/events", "/api/v1/feedback"])
def test_an_outage_503_is_retried_after_retry_after_and_nothing_is_lost(
    fake: FakeServer, make_client: Callable[..., Client], path: str
) -> None:
    fake.fail(path, OUTAGE)
    client = make_client(fake.url, record_exposures=False)
    if path.endswith("events"):
        sent = client.track_implicit(conversation_id="c", signal="copied")
    else:
        sent = client.feedback(type="thumbs_up", conversation_id="c")
    wait_for(lambda: [r for r in fake.requests if r.path == path])
    threading.Event().wait(0.5)  # backoff alone would have retried several times by now
    assert len([r for r in fake.requests if r.path == path]) == 1
    assert client.stats.events_discarded == 0
    fake.heal()
    assert client.flush(timeout=5)
    retried = [r for r in fake.requests if r.path == path]
    assert len(retried) == 2 and retried[0].body == retried[1].body  # same ids
    assert sent in retried[1].body.decode()


def test_invalid_events_are_dropped_not_retried(
    fake: FakeServer, make_client: Callable[..., Client]
) -> None:
    fake.fail("/api/v1/events", Reply(400, {"accepted": 0, "rejected": [{"index": 0}]}))
    client = make_client(fake.url, record_exposures=False)
    client.track_llm_call(model="gpt-4", prompt_tokens=-1)
    assert client.flush(timeout=5)
    assert client.stats.events_rejected == 1
    assert len([r for r in fake.requests if r.path == "/api/v1/events"]) == 1


def test_close_flushes(fake: FakeServer) -> None:
    client = Client(fake.url, "k", poll_interval=60, events_flush_interval=60)
    ids = [client.track_implicit(conversation_id="c", signal="copied") for _ in range(3)]
    client.close()
    assert sorted(fake.stored) == sorted(ids)
    client.track_implicit(conversation_id="c", signal="copied")  # after close: discarded
    assert client.stats.events_discarded == 1


def test_close_gives_up_after_its_timeout_during_an_outage(fake: FakeServer) -> None:
    fake.fail("/api/v1/events", Reply(503))
    client = Client(fake.url, "k", poll_interval=60, events_backoff_base=0.01)
    client.track_implicit(conversation_id="c", signal="copied")
    client.close(timeout=0.3)
    assert client.stats.events_discarded == 1


def test_a_refused_key_discards_events(
    fake: FakeServer, make_client: Callable[..., Client]
) -> None:
    fake.fail("/api/v1/events", Reply(401, {"detail": "bad key"}))
    client = make_client(fake.url, record_exposures=False)
    client.track_implicit(conversation_id="c", signal="copied")
    assert client.flush(timeout=5)
    assert client.stats.events_discarded == 1


def test_prompt_hash_is_the_sha256_of_the_prompt() -> None:
    import hashlib
    import json

    from flagsite_sdk import prompt_hash

    assert prompt_hash("hello") == hashlib.sha256(b"hello").hexdigest()
    messages = [{"role": "user", "content": "hi"}, {"content": "sys", "role": "system"}]
    canonical = json.dumps(messages, sort_keys=True, separators=(",", ":")).encode()
    assert prompt_hash(messages) == hashlib.sha256(canonical).hexdigest()
    # Key order does not matter; content does.
    assert prompt_hash([{"content": "hi", "role": "user"}]) == prompt_hash(
        [{"role": "user", "content": "hi"}]
    )
    assert prompt_hash("hello") != prompt_hash("hello ")


def test_cached_tokens_and_the_prompt_hash_are_sent(
    fake: FakeServer, make_client: Callable[..., Client]
) -> None:
    from flagsite_sdk import prompt_hash

    client = make_client(fake.url, record_exposures=False)
    digest = prompt_hash("What is flagsite?")
    call_id = client.track_llm_call(
        model="gpt-4o", prompt_tokens=900, cached_input_tokens=512, prompt_hash=digest
    )
    assert client.flush(timeout=5)
    stored = fake.stored[call_id]
    assert (stored["cached_input_tokens"], stored["prompt_hash"]) == (512, digest)
