"""A small site for the cross-cutting tests: environments dev and prod (production), the
boolean flag `new-checkout`, and a server and a client key for dev."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from delivery.auth import api_key_cache_clear
from delivery.keys import api_key_create
from flags.changes import Actor
from tests.flags.builders import bool_flag, environments


@dataclass
class Site:
    """The keys as HTTP headers, for the test client's `headers=`."""

    server: dict[str, str]
    client: dict[str, str]


@pytest.fixture(autouse=True)
def _fresh_key_cache() -> Iterator[None]:
    api_key_cache_clear()
    yield
    api_key_cache_clear()


@pytest.fixture
def site(db: Any) -> Site:
    dev, _ = environments()
    bool_flag("new-checkout")
    actor = Actor(label="test")
    _, server = api_key_create(environment=dev, kind="server", name="srv", actor=actor)
    _, client = api_key_create(environment=dev, kind="client", name="cli", actor=actor)
    return Site(
        server={"Authorization": f"Bearer {server}"},
        client={"Authorization": f"Bearer {client}"},
    )
