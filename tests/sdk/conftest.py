from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flagsite_sdk.client import Client

from tests.sdk.builders import sample_ruleset
from tests.sdk.fakes import FakeServer

SERVER_KEY = "fs_srv_test"

# Fast timings for tests: poll every 50 ms, back off from there, send events every 50 ms.
FAST: dict[str, Any] = {
    "poll_interval": 0.05,
    "backoff_max": 0.2,
    "start_wait": 2.0,
    "timeout": 1.0,
    "events_flush_interval": 0.05,
    "events_backoff_base": 0.02,
}


@pytest.fixture
def fake() -> Iterator[FakeServer]:
    server = FakeServer(sample_ruleset())
    yield server
    server.close()


@pytest.fixture
def make_client() -> Iterator[Callable[..., Client]]:
    """Build clients with fast timings; every one is closed at the end of the test."""
    clients: list[Client] = []

    def make(url: str, key: str = SERVER_KEY, **options: Any) -> Client:
        client = Client(url, key, **{**FAST, **options})
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close(timeout=0.5)
