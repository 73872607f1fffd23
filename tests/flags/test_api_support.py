"""Shared fixtures and helpers for the API tests (imported by tests/flags/test_api_* and
tests/delivery/). Holds no tests itself."""

from __future__ import annotations

import json
from typing import Any

import pytest

from flags.demo import DEMO_CLIENT_KEY, DEMO_SERVER_KEY

SERVER = {"HTTP_AUTHORIZATION": f"Bearer {DEMO_SERVER_KEY}"}
CLIENT = {"HTTP_X_API_KEY": DEMO_CLIENT_KEY}


@pytest.fixture(autouse=True)
def _fresh_key_cache() -> Any:
    """Each test starts with no cached API keys and no remembered cache failure."""
    from delivery.auth import api_key_cache_clear
    from delivery.ratelimit import rate_limit_reset

    api_key_cache_clear()
    rate_limit_reset()
    yield
    api_key_cache_clear()
    rate_limit_reset()


def post_json(client: Any, url: str, data: Any, **headers: Any) -> Any:
    body = data if isinstance(data, str | bytes) else json.dumps(data)
    return client.post(url, body, content_type="application/json", **headers)


def error_fields(response: Any) -> dict[str, list[str]]:
    return response.json()["error"].get("fields", {})
