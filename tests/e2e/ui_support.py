"""Shared pieces for the admin UI's end-to-end tests: a live server with the demo data, and a
way to ask the delivery API what it serves."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

import pytest

from flags.demo import DEMO_CLIENT_KEY, DEMO_PASSWORD

__all__ = ["DEMO_PASSWORD", "evaluate_api", "site"]


@pytest.fixture
def site(live_server: Any, transactional_db: Any) -> str:
    """The live server's URL, with the demo data (admin/editor/viewer, three environments)."""
    from flags.demo import demo_data_load

    demo_data_load()
    return str(live_server.url)


def evaluate_api(base_url: str, flag: str, context: dict[str, Any]) -> dict[str, Any]:
    """POST /api/v1/evaluate with the demo development client key; one flag's result."""
    request = urllib.request.Request(
        f"{base_url}/api/v1/evaluate",
        data=json.dumps({"context": context, "flags": [flag]}).encode(),
        headers={"Authorization": f"Bearer {DEMO_CLIENT_KEY}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return dict(json.load(response)["flags"][flag])
