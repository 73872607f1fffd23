"""Forcing flag values in the application's tests: Client.override and TestClient."""

from __future__ import annotations

from flagsite_sdk.client import Client
from flagsite_sdk.testing import TestClient

from tests.sdk.builders import sample_ruleset


def test_override_forces_a_value_and_restores_it() -> None:
    client = Client(offline=True, bootstrap=sample_ruleset())
    with client.override("llm-model", "claude"):
        assert client.variation("llm-model", {"key": "alice"}, "x") == "claude"
        assert client.evaluate("llm-model", {"key": "bob"}) == (
            "claude",
            None,
            "STATIC",
            "override",
            None,
        )
        with client.override("llm-model", "mistral"):
            assert client.variation("llm-model", {"key": "alice"}, "x") == "mistral"
        assert client.variation("llm-model", {"key": "alice"}, "x") == "claude"
    assert client.variation("llm-model", {"key": "alice"}, "x") == "gpt-4-turbo"


def test_override_of_an_unknown_flag_and_type_checks() -> None:
    client = Client(offline=True)
    with client.override("brand-new", True):
        assert client.bool_variation("brand-new", {"key": "a"}, False) is True
        assert client.string_variation("brand-new", {"key": "a"}, "s") == "s"
    assert client.bool_variation("brand-new", {"key": "a"}, False) is False


def test_overrides_survive_a_ruleset_update() -> None:
    client = Client(offline=True, bootstrap=sample_ruleset())
    client.set_override("llm-model", "claude")
    from flagsite_sdk.store import Snapshot

    client._install(Snapshot(sample_ruleset(version=2, model_default="gpt-4-turbo")), "server")
    assert client.variation("llm-model", {"key": "bob"}, "x") == "claude"
    client.clear_overrides()
    assert client.variation("llm-model", {"key": "bob"}, "x") == "gpt-4-turbo"


def test_test_client_serves_fixed_values_and_keeps_events() -> None:
    flags = TestClient({"llm-model": "gpt-4-turbo", "new-rag-pipeline": True})
    assert flags.variation("llm-model", {"key": "u1"}, "gpt-4") == "gpt-4-turbo"
    assert flags.bool_variation("new-rag-pipeline", {"key": "u1"}, False) is True
    assert flags.variation("unknown", {"key": "u1"}, 7) == 7
    event_id = flags.track_llm_call(
        model="gpt-4-turbo", user_key="u1", prompt_tokens=10, flags={"llm-model": "gpt-4-turbo"}
    )
    flags.feedback(type="thumbs_up", conversation_id="c1")
    (call,) = flags.events_of("llm_call")
    assert call["id"] == event_id and call["prompt_tokens"] == 10
    assert call["flags"] == {"llm-model": "gpt-4-turbo"}
    assert flags.events_of("thumbs_up")[0]["conversation_id"] == "c1"
    flags.clear_events()
    assert flags.events == []


def test_test_client_on_a_real_ruleset_records_exposures() -> None:
    flags = TestClient({"killed": True}, ruleset=sample_ruleset())
    assert flags.variation("llm-model", {"key": "alice"}, "x") == "gpt-4-turbo"
    assert flags.variation("killed", {"key": "alice"}, False) is True
    exposures = flags.events_of("exposure")
    assert [(e["flag"], e["variant"], e["user_key"]) for e in exposures] == [
        ("llm-model", "gpt-4-turbo", "alice")
    ]  # overridden flags are not exposures
