"""POST /api/v1/events: auth by key kind, batches, partial rejection, idempotency, limits."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client, override_settings
from django.utils import timezone

from feedback.models import Exposure, ImplicitSignal, LlmCall

from .conftest import EVENTS_URL, Keys, exposure, implicit, keys_create, llm_call, post_json

pytestmark = pytest.mark.django_db


def _post(client: Client, keys: Keys, events: Any, **extra: Any) -> Any:
    body = events if isinstance(events, str | bytes | dict) else {"events": events}
    return post_json(client, EVENTS_URL, body, key=keys.server, **extra)


def test_it_stores_a_batch_of_every_type(client: Client, keys: Keys) -> None:
    events = [
        exposure("e-1", experiment="model-test"),
        llm_call(
            "c-1",
            request_id="req-1",
            conversation_id="conv-1",
            user_tier="paid",
            feature="chat",
            ttft_ms=120,
            error=False,
            hallucination=True,
            flags={"llm-model": "gpt-4"},
            timestamp=(timezone.now() - timedelta(hours=1)).isoformat(),
        ),
        implicit("i-1", signal="session_duration", value=42.5),
    ]
    response = _post(client, keys, events)
    assert response.status_code == 200, response.content
    assert response.json() == {"accepted": 3, "duplicates": 0, "rejected": []}
    exp = Exposure.objects.get()
    assert (exp.flag_key, exp.variant_key, exp.user_key, exp.experiment_key) == (
        "llm-model",
        "gpt-4",
        "u-1",
        "model-test",
    )
    call = LlmCall.objects.get()
    assert call.environment == keys.environment
    assert call.flags == {"llm-model": "gpt-4"}
    assert call.hallucination is True
    assert call.safety_violation is None
    assert call.ttft_ms == 120.0
    assert timezone.now() - call.timestamp > timedelta(minutes=59)
    signal = ImplicitSignal.objects.get()
    assert (signal.signal, signal.value) == ("session_duration", 42.5)


def test_a_retried_batch_is_stored_once(client: Client, keys: Keys) -> None:
    events = [llm_call(f"c-{i}") for i in range(5)]
    assert _post(client, keys, events).json()["accepted"] == 5
    again = _post(client, keys, [*events, llm_call("c-new")])
    assert again.status_code == 200
    assert again.json() == {"accepted": 1, "duplicates": 5, "rejected": []}
    assert LlmCall.objects.count() == 6


def test_a_repeated_id_within_one_batch_counts_as_a_duplicate(client: Client, keys: Keys) -> None:
    response = _post(client, keys, [exposure("same"), exposure("same")])
    assert response.json() == {"accepted": 1, "duplicates": 1, "rejected": []}
    assert Exposure.objects.count() == 1


def test_ids_are_unique_per_environment_not_globally(client: Client, keys: Keys) -> None:
    other = keys_create("staging")
    assert _post(client, keys, [exposure("shared")]).json()["accepted"] == 1
    assert _post(client, other, [exposure("shared")]).json()["accepted"] == 1
    assert Exposure.objects.count() == 2


@pytest.mark.parametrize("split", ["one batch", "two requests"])
def test_ids_are_unique_per_type_in_one_batch_and_across_requests(
    client: Client, keys: Keys, split: str
) -> None:
    """The rule (docs/events.md): an id is unique per environment and event type. The same id
    as an exposure and as an llm_call is two events, whether they come together or apart;
    the same id and type again is a duplicate either way."""
    events = [exposure("same-id"), llm_call("same-id"), llm_call("same-id")]
    if split == "one batch":
        answers = [_post(client, keys, events).json()]
    else:
        answers = [_post(client, keys, [event]).json() for event in events]
    assert sum(a["accepted"] for a in answers) == 2
    assert sum(a["duplicates"] for a in answers) == 1
    assert Exposure.objects.filter(event_id="same-id").count() == 1
    assert LlmCall.objects.filter(event_id="same-id").count() == 1


def test_an_all_duplicate_batch_answers_200(client: Client, keys: Keys) -> None:
    _post(client, keys, [implicit("i-1")])
    response = _post(client, keys, [implicit("i-1")])
    assert response.status_code == 200
    assert response.json() == {"accepted": 0, "duplicates": 1, "rejected": []}


def test_a_partial_batch_stores_the_good_events_and_names_the_bad(
    client: Client, keys: Keys
) -> None:
    events = [
        llm_call("ok-1"),
        llm_call("bad-tokens", prompt_tokens=-1),
        "not an object",
        exposure("ok-2"),
        {"id": "bad-type", "type": "click"},
    ]
    response = _post(client, keys, events)
    assert response.status_code == 200
    body = response.json()
    assert (body["accepted"], body["duplicates"]) == (2, 0)
    assert body["rejected"] == [
        {"index": 1, "id": "bad-tokens", "errors": {"prompt_tokens": "must be an integer >= 0"}},
        {"index": 2, "id": None, "errors": {"event": "must be an object"}},
        {
            "index": 4,
            "id": "bad-type",
            "errors": {"type": "must be one of exposure, llm_call, implicit, score"},
        },
    ]
    assert set(LlmCall.objects.values_list("event_id", flat=True)) == {"ok-1"}
    assert set(Exposure.objects.values_list("event_id", flat=True)) == {"ok-2"}


def test_every_event_rejected_answers_400(client: Client, keys: Keys) -> None:
    response = _post(client, keys, [exposure("x", flag=None), llm_call("y", model="")])
    assert response.status_code == 400
    assert response.json() == {
        "accepted": 0,
        "duplicates": 0,
        "rejected": [
            {"index": 0, "id": "x", "errors": {"flag": "is required"}},
            {"index": 1, "id": "y", "errors": {"model": "must not be empty"}},
        ],
    }


def test_unknown_fields_are_ignored(client: Client, keys: Keys) -> None:
    response = _post(client, keys, [llm_call("c-1", shiny_new_field={"a": 1}, sdk="py/1.0")])
    assert response.json()["accepted"] == 1


PROMPT_HASH_ERROR = "must be 1-128 characters of letters, digits and _-.:+/= (e.g. a hex SHA-256)"


def _now_iso(delta: timedelta) -> str:
    return (timezone.now() + delta).isoformat()


@pytest.mark.parametrize(
    ("event", "field", "message"),
    [
        ({"type": "exposure", "flag": "f", "variant": "v", "user_key": "u"}, "id", "is required"),
        ({**exposure("x"), "id": ""}, "id", "must not be empty"),
        ({**exposure("x"), "id": 12}, "id", "must be a string"),
        ({**exposure("x"), "id": "x" * 129}, "id", "must be at most 128 characters"),
        ({"id": "x"}, "type", "is required"),
        (
            {**exposure("x"), "type": 3},
            "type",
            "must be one of exposure, llm_call, implicit, score",
        ),
        ({**exposure("x"), "timestamp": "yesterday"}, "timestamp", "must be an RFC 3339 string"),
        ({**exposure("x"), "timestamp": 1700000000}, "timestamp", "must be an RFC 3339 string"),
        (
            {**exposure("x"), "timestamp": "2026-01-01T00:00:00"},
            "timestamp",
            "must include a time zone (Z or +hh:mm)",
        ),
        (
            {**exposure("x"), "timestamp": _now_iso(-timedelta(days=8))},
            "timestamp",
            "must be at most 7 days old",
        ),
        (
            {**exposure("x"), "timestamp": _now_iso(timedelta(hours=2))},
            "timestamp",
            "must be at most 5 minutes in the future",
        ),
        (exposure("x", variant=None), "variant", "is required"),
        (exposure("x", user_key=["u"]), "user_key", "must be a string"),
        (exposure("x", flag="f" * 129), "flag", "must be at most 128 characters"),
        (llm_call("x", model=None), "model", "is required"),
        (llm_call("x", prompt_tokens="12"), "prompt_tokens", "must be an integer >= 0"),
        (llm_call("x", completion_tokens=1.5), "completion_tokens", "must be an integer >= 0"),
        (llm_call("x", completion_tokens=True), "completion_tokens", "must be an integer >= 0"),
        (llm_call("x", cached_input_tokens=-1), "cached_input_tokens", "must be an integer >= 0"),
        (llm_call("x", cached_input_tokens="9"), "cached_input_tokens", "must be an integer >= 0"),
        (
            llm_call("x", prompt_tokens=10, cached_input_tokens=11),
            "cached_input_tokens",
            "must not exceed prompt_tokens (cached tokens are part of them)",
        ),
        *[
            (llm_call("x", prompt_hash=bad), "prompt_hash", PROMPT_HASH_ERROR)
            for bad in ("", "a b", "x" * 129, 42, "é", "ab\n")
        ],
        (llm_call("x", latency_ms=-1), "latency_ms", "must be a number >= 0"),
        (llm_call("x", ttft_ms="fast"), "ttft_ms", "must be a number >= 0"),
        (llm_call("x", error="no"), "error", "must be true or false"),
        (llm_call("x", hallucination=1), "hallucination", "must be true or false"),
        (llm_call("x", safety_violation="false"), "safety_violation", "must be true or false"),
        (
            llm_call("x", flags=["llm-model"]),
            "flags",
            "must be an object of at most 100 flag keys to variant keys (strings)",
        ),
        (
            llm_call("x", flags={"llm-model": 4}),
            "flags",
            "must be an object of at most 100 flag keys to variant keys (strings)",
        ),
        (llm_call("x", request_id=7), "request_id", "must be a string"),
        (implicit("x", conversation_id=None), "conversation_id", "is required"),
        (
            implicit("x", signal="liked"),
            "signal",
            "must be one of regenerated, follow_up, session_duration, copied, task_completed",
        ),
        (implicit("x", value="1"), "value", "must be a number >= 0"),
    ],
)
def test_each_validation_error_names_its_field(
    client: Client, keys: Keys, event: dict[str, Any], field: str, message: str
) -> None:
    response = _post(client, keys, [event])
    assert response.status_code == 400
    [rejected] = response.json()["rejected"]
    assert rejected["errors"][field] == message


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ("{not json", "body", "must be valid JSON (UTF-8)"),
        (b"\xff\xfe", "body", "must be valid JSON (UTF-8)"),
        ("[]", "events", "must be a list of events"),
        ({"events": "all of them"}, "events", "must be a list of events"),
        ({"evnets": []}, "events", "must be a list of events"),
        ({"events": []}, "events", "must contain at least one event"),
    ],
)
def test_malformed_bodies_answer_400_naming_the_field(
    client: Client, keys: Keys, body: Any, field: str, message: str
) -> None:
    response = _post(client, keys, body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert error["fields"] == {field: [message]}
    assert error["message"] == f"{field}: {message}"


def test_more_than_1000_events_is_413(client: Client, keys: Keys) -> None:
    response = _post(client, keys, [{"id": str(i)} for i in range(1001)])
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_large"


def test_a_body_over_1_mib_is_413(client: Client, keys: Keys) -> None:
    big = json.dumps({"events": [llm_call("c", padding="x" * (1024 * 1024))]})
    response = _post(client, keys, big)
    assert response.status_code == 413
    assert LlmCall.objects.count() == 0


def test_a_lying_content_length_over_the_limit_is_413(client: Client, keys: Keys) -> None:
    response = _post(client, keys, {"events": [llm_call("c")]}, CONTENT_LENGTH="5000000")
    assert response.status_code == 413


def test_a_content_length_that_is_not_a_number_is_400_naming_the_body(
    client: Client, keys: Keys
) -> None:
    response = _post(client, keys, {"events": [llm_call("c")]}, CONTENT_LENGTH="nope")
    assert response.status_code == 400
    assert "Content-Length" in str(response.json()["error"]["fields"]["body"])
    assert LlmCall.objects.count() == 0


def test_no_key_is_401(client: Client, keys: Keys) -> None:
    response = post_json(client, EVENTS_URL, {"events": [exposure("x")]})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


def test_an_unknown_key_is_401(client: Client, keys: Keys) -> None:
    response = post_json(client, EVENTS_URL, {"events": [exposure("x")]}, key="fs_srv_nope")
    assert response.status_code == 401


def test_a_client_key_is_403(client: Client, keys: Keys) -> None:
    response = post_json(client, EVENTS_URL, {"events": [exposure("x")]}, key=keys.client)
    assert response.status_code == 403
    assert Exposure.objects.count() == 0


def test_the_key_can_come_in_x_api_key(client: Client, keys: Keys) -> None:
    response = post_json(
        client, EVENTS_URL, {"events": [exposure("x")]}, HTTP_X_API_KEY=keys.server
    )
    assert response.status_code == 200


def test_only_post_is_allowed(client: Client, keys: Keys) -> None:
    response = client.get(EVENTS_URL, HTTP_AUTHORIZATION=f"Bearer {keys.server}")
    assert response.status_code == 405


@override_settings(FLAGSITE_RATE_LIMIT_PER_MINUTE=2)
def test_the_key_is_rate_limited(client: Client, keys: Keys) -> None:
    assert _post(client, keys, [exposure("a")]).status_code == 200
    assert _post(client, keys, [exposure("b")]).status_code == 200
    response = _post(client, keys, [exposure("c")])
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 61
    assert not Exposure.objects.filter(event_id="c").exists()


def test_text_postgresql_cannot_store_rejects_only_that_event(client: Client, keys: Keys) -> None:
    """NUL characters and lone surrogates are valid JSON but not storable text."""
    events = [
        llm_call("ok-1"),
        llm_call("bad-\ud800"),
        llm_call("ok-2", feature="chat\x00"),
        exposure("ok-3", flags_unused=True),
    ]
    response = _post(client, keys, events)
    assert response.status_code == 200
    body = response.json()
    assert (body["accepted"], body["duplicates"]) == (2, 0)
    assert [r["index"] for r in body["rejected"]] == [1, 2]
    assert body["rejected"][0]["id"] is None  # not echoed: it could not be encoded back
    assert "surrogate" in body["rejected"][0]["errors"]["id"]
    assert "NUL" in body["rejected"][1]["errors"]["feature"]
    assert set(LlmCall.objects.values_list("event_id", flat=True)) == {"ok-1"}
