"""The real OpenFeature Python SDK with the PyPI OFREP provider against a live server."""

from __future__ import annotations

from typing import Any

import pytest
from openfeature import api
from openfeature.contrib.provider.ofrep import OFREPProvider
from openfeature.evaluation_context import EvaluationContext
from openfeature.exception import ErrorCode
from openfeature.flag_evaluation import Reason

from flags.changes import Actor, flag_config_update, flag_create
from flags.demo import DEMO_CLIENT_KEY
from flags.models import Environment
from tests.flags.test_api_support import _fresh_key_cache  # noqa: F401

ALICE = EvaluationContext(targeting_key="alice", attributes={"email": "alice@flagsite.dev"})


@pytest.fixture
def of_client(live_server: Any, transactional_db: Any, demo: Any) -> Any:
    actor = Actor(label="test")
    dev = Environment.objects.get(key="development")
    temperature = flag_create(
        key="temperature",
        name="",
        kind="number",
        actor=actor,
        variants=[{"key": "cold", "value": 0.2}, {"key": "warm", "value": 0.7}],
    )
    flag_config_update(
        flag=temperature, environment=dev, actor=actor, enabled=True, default={"variant": "warm"}
    )
    top_k = flag_create(
        key="top-k",
        name="",
        kind="number",
        actor=actor,
        variants=[{"key": "few", "value": 3}, {"key": "many", "value": 10}],
    )
    flag_config_update(
        flag=top_k, environment=dev, actor=actor, enabled=True, default={"variant": "many"}
    )
    flag_create(
        key="dark-mode",
        name="",
        kind="boolean",
        actor=actor,
        variants=[{"key": "on", "value": True}, {"key": "off", "value": False}],
    )
    provider = OFREPProvider(
        live_server.url, headers_factory=lambda: {"Authorization": f"Bearer {DEMO_CLIENT_KEY}"}
    )
    api.set_provider(provider, domain="flagsite-ofrep-test")
    yield api.get_client("flagsite-ofrep-test")
    api.clear_providers()


def test_boolean_flag(of_client: Any) -> None:
    details = of_client.get_boolean_details("new-rag-pipeline", False, ALICE)
    assert (details.value, details.variant, details.reason) == (True, "on", Reason.TARGETING_MATCH)
    assert details.error_code is None


def test_string_flag(of_client: Any) -> None:
    details = of_client.get_string_details("llm-model", "fallback", ALICE)
    assert (details.value, details.variant) == ("gpt-4-turbo", "gpt-4-turbo")
    assert details.reason == Reason.TARGETING_MATCH


def test_number_flags(of_client: Any) -> None:
    assert of_client.get_float_value("temperature", 0.0, ALICE) == 0.7
    details = of_client.get_integer_details("top-k", 1, ALICE)
    assert (details.value, details.reason) == (10, Reason.STATIC)


def test_object_flag(of_client: Any) -> None:
    context = EvaluationContext(targeting_key="u-42", attributes={"tier": "paid"})
    details = of_client.get_object_details("rag-config", {}, context)
    assert details.value == {"reranker": True, "top_k": 10}
    assert details.variant == "reranked"


def test_missing_flag_returns_the_default(of_client: Any) -> None:
    details = of_client.get_boolean_details("no-such-flag", True, ALICE)
    assert details.value is True
    assert details.error_code == ErrorCode.FLAG_NOT_FOUND
    assert details.reason == Reason.ERROR


def test_disabled_flag(of_client: Any) -> None:
    details = of_client.get_boolean_details("dark-mode", True, ALICE)
    assert (details.value, details.variant, details.reason) == (False, "off", Reason.DISABLED)


def test_missing_targeting_key_and_no_context(of_client: Any) -> None:
    details = of_client.get_object_details("rag-config", {"fallback": True})
    assert details.value == {"fallback": True}
    assert details.error_code == ErrorCode.TARGETING_KEY_MISSING
    # A flag that does not bucket needs no context at all.
    assert of_client.get_string_value("llm-model", "fallback") == "gpt-4-turbo"
