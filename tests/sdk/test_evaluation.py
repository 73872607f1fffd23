"""Local evaluation through the client: values, typed getters, reasons, defaults on errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from flagsite_sdk.client import Client
from flagsite_sdk.engine import Evaluation
from flagsite_sdk.engine.model import Context

from tests.sdk.builders import sample_ruleset


@pytest.fixture
def client() -> Client:
    return Client(offline=True, bootstrap=sample_ruleset())


def test_it_evaluates_locally(client: Client) -> None:
    assert client.variation("llm-model", {"key": "alice"}, "x") == "gpt-4-turbo"
    assert client.variation("llm-model", {"key": "bob"}, "x") == "gpt-4"
    assert client.variation("rag-config", {"key": "bob", "tier": "paid"}, {}) == {"top_k": 10}
    assert client.variation("killed", {"key": "bob"}, True) is False


def test_typed_getters(client: Client) -> None:
    assert client.string_variation("llm-model", {"key": "alice"}, "x") == "gpt-4-turbo"
    assert client.bool_variation("killed", {"key": "a"}, True) is False
    assert client.json_variation("rag-config", {"key": "a"}, {}) == {"top_k": 5}


@pytest.mark.parametrize(
    ("flag", "getter", "default"),
    [
        ("llm-model", "bool_variation", True),
        ("llm-model", "number_variation", 3),
        ("killed", "string_variation", "fallback"),
        ("killed", "number_variation", 1.5),  # bool is not a number
        ("rag-config", "string_variation", "fallback"),
        ("llm-model", "json_variation", {"a": 1}),
    ],
)
def test_type_mismatch_gives_the_default(
    client: Client, flag: str, getter: str, default: Any
) -> None:
    assert getattr(client, getter)(flag, {"key": "alice"}, default) == default
    assert client.variation(flag, {"key": "alice"}, default) == default
    result = client.evaluate(flag, {"key": "alice"}, default)
    assert (result.value, result.reason, result.error_code) == (default, "ERROR", "TYPE_MISMATCH")


def test_number_family_accepts_int_and_float() -> None:
    from tests.sdk.builders import flag, ruleset

    data = ruleset(
        flag(
            "limit",
            kind="number",
            variants=[{"key": "low", "value": 10}, {"key": "high", "value": 2.5}],
        )
    )
    client = Client(offline=True, bootstrap=data)
    assert client.number_variation("limit", {"key": "a"}, 0.0) == 10
    assert client.variation("limit", {"key": "a"}, 1.5) == 10


def test_missing_flag_gives_the_default_with_flag_not_found(client: Client) -> None:
    assert client.variation("nope", {"key": "a"}, "d") == "d"
    assert client.evaluate("nope", {"key": "a"}, "d") == (
        "d",
        None,
        "ERROR",
        None,
        "FLAG_NOT_FOUND",
    )


def test_no_ruleset_yet_is_provider_not_ready() -> None:
    client = Client(offline=True)
    assert not client.ready
    assert client.evaluate("llm-model", {"key": "a"}, "d").error_code == "PROVIDER_NOT_READY"
    assert client.variation("llm-model", {"key": "a"}, "d") == "d"


def test_evaluate_reports_variant_reason_and_rule(client: Client) -> None:
    assert client.evaluate("llm-model", {"key": "alice"}, "x") == (
        "gpt-4-turbo",
        "gpt-4-turbo",
        "TARGETING_MATCH",
        "internal",
        None,
    )
    assert client.evaluate("llm-model", {"key": "bob"}).reason == "DEFAULT"
    assert client.evaluate("killed", {"key": "bob"}).reason == "DISABLED"
    assert client.evaluate("new-rag-pipeline", {"key": "bob"}).reason == "SPLIT"


def test_targeting_key_is_an_alias_of_key(client: Client) -> None:
    assert client.variation("llm-model", {"targetingKey": "alice"}, "x") == "gpt-4-turbo"
    assert client.evaluate("llm-model", {"targetingKey": "alice"}).rule_id == "internal"
    assert client.all_flags({"targetingKey": "alice"})["llm-model"].value == "gpt-4-turbo"
    # An explicit key wins.
    assert client.variation("llm-model", {"key": "bob", "targetingKey": "alice"}, "x") == "gpt-4"


@pytest.mark.parametrize("context", [None, {}, [], "alice", 42, {"key": ["unhashable"]}])
def test_odd_contexts_never_raise(client: Client, context: Any) -> None:
    assert client.variation("llm-model", context, "d") in ("d", "gpt-4")
    assert client.evaluate("llm-model", context, "d").value in ("d", "gpt-4")
    assert isinstance(client.all_flags(context), dict)


def test_a_flag_that_raises_gives_the_default(client: Client) -> None:
    def boom(context: Context, memo: dict[str, Any] | None = None, /) -> Evaluation:
        raise RuntimeError("engine bug")

    client._functions = {**client._functions, "llm-model": boom}
    assert client.variation("llm-model", {"key": "a"}, "d") == "d"
    assert client.evaluate("llm-model", {"key": "a"}, "d").error_code == "GENERAL"
    assert client.stats.evaluation_errors == 2


def test_all_flags(client: Client) -> None:
    results = client.all_flags({"key": "alice", "tier": "paid"})
    assert {k: r.value for k, r in results.items()} == {
        "llm-model": "gpt-4-turbo",
        "new-rag-pipeline": False,
        "rag-config": {"top_k": 10},
        "killed": False,
    }


def test_bootstrap_from_a_file(tmp_path: Path) -> None:
    path = tmp_path / "ruleset.json"
    path.write_text(json.dumps(sample_ruleset(version=9)))
    client = Client(offline=True, bootstrap=path)
    assert client.stats.ruleset_source == "bootstrap"
    assert client.stats.ruleset_version == 9
    assert client.variation("llm-model", {"key": "alice"}, "x") == "gpt-4-turbo"


def test_offline_client_makes_no_threads_and_discards_events() -> None:
    import threading

    before = threading.active_count()
    client = Client(offline=True, bootstrap=sample_ruleset())
    client.track_llm_call(model="gpt-4")
    assert threading.active_count() == before
    assert client.stats.events_discarded == 1
    client.close()


def test_the_client_needs_a_server_unless_offline() -> None:
    with pytest.raises(ValueError, match="offline"):
        Client()


def test_evaluations_racing_ruleset_swaps_and_exposures() -> None:
    import threading

    from flagsite_sdk.events import EventBuffer
    from flagsite_sdk.store import Snapshot

    client = Client(offline=True, bootstrap=sample_ruleset())
    client._buffer = client._exposures = EventBuffer(capacity=1_000_000, dedup_size=500)
    seen: set[Any] = set()
    stop = threading.Event()

    def evaluate() -> None:
        i = 0
        while not stop.is_set():
            i += 1
            seen.add(client.variation("llm-model", {"key": f"user-{i % 2000}"}, "default"))

    threads = [threading.Thread(target=evaluate) for _ in range(4)]
    for thread in threads:
        thread.start()
    for version in range(30):
        default = "gpt-4-turbo" if version % 2 else "gpt-4"
        client._install(Snapshot(sample_ruleset(version=version, model_default=default)), "server")
    stop.set()
    for thread in threads:
        thread.join()
    assert seen <= {"gpt-4", "gpt-4-turbo"} and client.stats.evaluation_errors == 0
    buffer = client._buffer
    assert len(buffer._recent) + len(buffer._older) <= 500
    assert buffer.queued == len(buffer) and buffer.dropped == 0
