"""Fixtures for the feedback tests: an environment with a server and a client key, and small
helpers that post to the ingestion endpoints."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client

from delivery.auth import api_key_cache_clear
from delivery.keys import api_key_create
from flags.changes import Actor, environment_create
from flags.models import Environment

EVENTS_URL = "/api/v1/events"
FEEDBACK_URL = "/api/v1/feedback"


@dataclass
class Keys:
    environment: Environment
    server: str
    client: str


def keys_create(env_key: str = "development") -> Keys:
    actor = Actor(label="test")
    env = Environment.objects.filter(key=env_key).first() or environment_create(
        key=env_key, name=env_key.title(), actor=actor
    )
    _, server = api_key_create(environment=env, kind="server", name="srv", actor=actor)
    _, client = api_key_create(environment=env, kind="client", name="cli", actor=actor)
    return Keys(env, server, client)


def process_state_reset() -> None:
    """The key cache and the rate limiter's local counts outlive a test's database rows and
    cache; every feedback test starts and ends without them."""
    from delivery.ratelimit import rate_limit_reset

    api_key_cache_clear()
    rate_limit_reset()


@pytest.fixture(autouse=True)
def _fresh_process_state() -> Iterator[None]:
    process_state_reset()
    yield
    process_state_reset()


@pytest.fixture
def keys(db: Any) -> Keys:
    return keys_create()


def post_json(client: Client, url: str, body: Any, *, key: str | None = None, **extra: Any) -> Any:
    data = body if isinstance(body, str | bytes) else json.dumps(body)
    if key is not None:
        extra["HTTP_AUTHORIZATION"] = f"Bearer {key}"
    return client.post(url, data=data, content_type="application/json", **extra)


def llm_call(event_id: str, **fields: Any) -> dict[str, Any]:
    return {
        "id": event_id,
        "type": "llm_call",
        "model": "gpt-4",
        "prompt_tokens": 1000,
        "completion_tokens": 500,
        "latency_ms": 850.5,
        **fields,
    }


def exposure(event_id: str, **fields: Any) -> dict[str, Any]:
    return {
        "id": event_id,
        "type": "exposure",
        "flag": "llm-model",
        "variant": "gpt-4",
        "user_key": "u-1",
        **fields,
    }


def implicit(event_id: str, **fields: Any) -> dict[str, Any]:
    return {
        "id": event_id,
        "type": "implicit",
        "conversation_id": "conv-1",
        "signal": "regenerated",
        **fields,
    }


def feedback(event_id: str = "fb-1", **fields: Any) -> dict[str, Any]:
    return {
        "id": event_id,
        "type": "thumbs_down",
        "conversation_id": "conv-9",
        "request_id": "req-1",
        "user_key": "u-42",
        **fields,
    }
