"""Local evaluation (the SDK) and the server's POST /api/v1/evaluate agree, context by context,
on 10,000 random contexts over the demo flags.

The server is called in-process through Django's test client (the real URL, authentication,
throttle and view; no socket): over loopback TCP the live test server answers each request
in ~50 ms (the test server's Nagle/delayed-ACK interplay), which would make this one test
take 8 minutes. The SDK's own HTTP path is covered by test_live_server.py.
"""

from __future__ import annotations

import json
import random
from typing import Any

from django.test import Client as DjangoClient
from flagsite_sdk.client import Client

from flags.demo import DEMO_SERVER_KEY

CONTEXTS = 10_000


def random_context(rng: random.Random) -> dict[str, Any]:
    """Contexts that reach every rule of the demo flags: internal users by key or e-mail, the
    paid tier, the 5% segment, both sides of every split, no key, targetingKey instead of key."""
    context: dict[str, Any] = {}
    shape = rng.random()
    key: Any = f"user-{rng.randrange(10**9)}"
    if shape < 0.03:
        key = rng.choice(["alice", "bob", "carol"])
    if shape < 0.01:
        key = rng.randrange(10**6)  # integer keys are allowed
    if shape > 0.97:
        pass  # anonymous: no key at all
    elif shape > 0.9:
        context["targetingKey"] = key
    else:
        context["key"] = key
    if rng.random() < 0.7:
        context["tier"] = rng.choice(["free", "paid", "enterprise", "PAID", ""])
    if rng.random() < 0.5:
        domain = rng.choice(["flagsite.dev", "example.com", "flagsite.dev.evil.com"])
        context["email"] = f"u{rng.randrange(1000)}@{domain}"
    if rng.random() < 0.2:
        context["app_version"] = f"{rng.randrange(3)}.{rng.randrange(10)}.{rng.randrange(10)}"
    return context


def test_local_and_server_evaluation_agree(demo: dict[str, str], settings: Any) -> None:
    settings.FLAGSITE_RATE_LIMIT_PER_MINUTE = 0
    server = DjangoClient(HTTP_AUTHORIZATION=f"Bearer {DEMO_SERVER_KEY}")
    # The SDK gets exactly what it would download...
    response = server.get("/api/v1/sdk/ruleset")
    assert response.status_code == 200
    sdk = Client(offline=True, bootstrap=response.json())
    assert len(sdk.ruleset or ()) == 4
    rng = random.Random(20261125)
    mismatches = []
    for _ in range(CONTEXTS):
        context = random_context(rng)
        # ...and the server evaluates every flag per request: one call per context.
        response = server.post(
            "/api/v1/evaluate", json.dumps({"context": context}), content_type="application/json"
        )
        assert response.status_code == 200, response.content
        remote = response.json()["flags"]
        local = sdk.all_flags(context)
        assert local.keys() == remote.keys()
        for key, result in local.items():
            ours = {
                "value": result.value,
                "variant": result.variant,
                "reason": result.reason,
                "error_code": result.error_code,
                "rule_id": result.rule_id,
            }
            if ours != remote[key]:
                mismatches.append((context, key, ours, remote[key]))
            # variation() and evaluate() say the same as all_flags().
            assert sdk.variation(key, context, None) == result.value
            assert sdk.evaluate(key, context) == result
    assert mismatches == []
