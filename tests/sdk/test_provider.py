"""The OpenFeature provider: values, reasons and error codes through openfeature-sdk itself."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flagsite_sdk.client import Client
from flagsite_sdk.provider import FlagsiteProvider
from flagsite_sdk.store import Snapshot
from openfeature import api
from openfeature.client import OpenFeatureClient
from openfeature.evaluation_context import EvaluationContext, EvaluationContextAttribute
from openfeature.event import ProviderEventDetails
from openfeature.exception import ErrorCode
from openfeature.flag_evaluation import Reason

from tests.sdk.builders import flag, ruleset, sample_ruleset


def _ruleset() -> dict[str, Any]:
    data = sample_ruleset()
    extra = ruleset(
        flag(
            "max-tokens",
            kind="number",
            variants=[{"key": "small", "value": 512}, {"key": "big", "value": 4096.0}],
            rules=[
                {
                    "id": "paid",
                    "clauses": [{"attribute": "tier", "op": "eq", "values": ["paid"]}],
                    "serve": {"variant": "big"},
                }
            ],
        ),
        flag(
            "temperature",
            kind="number",
            variants=[{"key": "low", "value": 0.2}, {"key": "high", "value": 0.9}],
        ),
    )
    data["flags"].update(extra["flags"])
    return data


@pytest.fixture
def sdk() -> Client:
    return Client(offline=True, bootstrap=_ruleset())


@pytest.fixture
def of_client(sdk: Client) -> Iterator[OpenFeatureClient]:
    api.set_provider(FlagsiteProvider(sdk))
    yield api.get_client()
    api.shutdown()


def ctx(key: str, **attrs: EvaluationContextAttribute) -> EvaluationContext:
    return EvaluationContext(key, dict(attrs))


def test_resolves_every_type(of_client: OpenFeatureClient) -> None:
    assert of_client.get_string_value("llm-model", "x", ctx("alice")) == "gpt-4-turbo"
    assert of_client.get_boolean_value("killed", True, ctx("bob")) is False
    assert of_client.get_integer_value("max-tokens", 1, ctx("bob")) == 512
    big = of_client.get_integer_details("max-tokens", 1, ctx("bob", tier="paid"))
    assert big.value == 4096 and isinstance(big.value, int)
    assert of_client.get_float_value("temperature", 0.0, ctx("bob")) == 0.2
    assert of_client.get_float_value("max-tokens", 0.0, ctx("bob")) == 512.0
    assert of_client.get_object_value("rag-config", {}, ctx("bob", tier="paid")) == {"top_k": 10}


@pytest.mark.parametrize(
    ("getter", "flag_key", "default", "context", "reason", "variant", "rule_id"),
    [
        (
            "get_string_details",
            "llm-model",
            "",
            ctx("alice"),
            Reason.TARGETING_MATCH,
            "gpt-4-turbo",
            "internal",
        ),
        ("get_string_details", "llm-model", "", ctx("bob"), Reason.DEFAULT, "gpt-4", "default"),
        (
            "get_boolean_details",
            "new-rag-pipeline",
            False,
            ctx("bob"),
            Reason.SPLIT,
            "on",
            "default",
        ),
        ("get_boolean_details", "killed", True, ctx("bob"), Reason.DISABLED, "off", None),
        ("get_float_details", "temperature", 0.0, ctx("bob"), Reason.STATIC, "low", "default"),
    ],
)
def test_reasons_map_one_to_one(
    of_client: OpenFeatureClient,
    getter: str,
    flag_key: str,
    default: object,
    context: EvaluationContext,
    reason: Reason,
    variant: str,
    rule_id: str | None,
) -> None:
    details = getattr(of_client, getter)(flag_key, default, context)
    assert (details.reason, details.variant, details.error_code) == (reason, variant, None)
    assert details.flag_metadata.get("rule_id") == rule_id


def test_missing_flag(of_client: OpenFeatureClient) -> None:
    details = of_client.get_string_details("nope", "fallback", ctx("bob"))
    assert (details.value, details.reason, details.error_code) == (
        "fallback",
        Reason.ERROR,
        ErrorCode.FLAG_NOT_FOUND,
    )


@pytest.mark.parametrize(
    ("getter", "flag_key", "default"),
    [
        ("get_boolean_details", "llm-model", True),
        ("get_string_details", "killed", "s"),
        ("get_integer_details", "temperature", 7),  # 0.2 is not an integer
        ("get_integer_details", "killed", 7),  # bool is not an integer
        ("get_float_details", "llm-model", 1.5),
        ("get_object_details", "llm-model", {"a": 1}),
    ],
)
def test_type_mismatch(
    of_client: OpenFeatureClient, getter: str, flag_key: str, default: object
) -> None:
    details = getattr(of_client, getter)(flag_key, default, ctx("bob"))
    assert (details.value, details.reason, details.error_code) == (
        default,
        Reason.ERROR,
        ErrorCode.TYPE_MISMATCH,
    )


def test_not_ready_and_general_errors() -> None:
    provider = FlagsiteProvider(Client(offline=True))
    details = provider.resolve_string_details("llm-model", "d", ctx("bob"))
    assert (details.value, details.reason, details.error_code) == (
        "d",
        Reason.ERROR,
        ErrorCode.PROVIDER_NOT_READY,
    )
    broken = ruleset(flag("bad", default={"variant": "missing-variant"}))
    provider = FlagsiteProvider(Client(offline=True, bootstrap=broken))
    failed = provider.resolve_boolean_details("bad", True, ctx("bob"))
    assert (failed.value, failed.reason, failed.error_code) == (
        True,
        Reason.ERROR,
        ErrorCode.GENERAL,
    )


def test_targeting_key_and_attributes_reach_the_engine(sdk: Client) -> None:
    provider = FlagsiteProvider(sdk)
    assert provider.resolve_object_details("rag-config", {}, ctx("bob", tier="paid")).value == {
        "top_k": 10
    }
    assert provider.resolve_string_details("llm-model", "", ctx("alice")).variant == "gpt-4-turbo"
    assert provider.resolve_string_details("llm-model", "", None).value == "gpt-4"


def test_a_new_ruleset_emits_configuration_changed(
    sdk: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    provider = FlagsiteProvider(sdk)
    seen: list[ProviderEventDetails] = []
    monkeypatch.setattr(provider, "emit_provider_configuration_changed", seen.append)
    sdk._install(Snapshot(sample_ruleset(version=2)), "server")
    assert seen and seen[0].flags_changed and "llm-model" in seen[0].flags_changed
