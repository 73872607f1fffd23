"""What bench/api.py sends: the demo keys and 10,000 different users' contexts, shared with
bench/profile_request.py so the in-process profile sees the same requests as the server."""

from __future__ import annotations

import json

SERVER_KEY = "fs_srv_demo_development_server_key"
CLIENT_KEY = "fs_cli_demo_development_client_key"
USERS = 10_000
TIERS = ("free", "free", "paid", "free", "enterprise")


def context(i: int) -> dict[str, str]:
    """User i of 10,000: a targeting key, a tier (30 % paid-like) and an e-mail."""
    return {
        "targetingKey": f"user-{i}",
        "tier": TIERS[i % len(TIERS)],
        "email": f"user-{i}@example.com",
    }


def context_body(i: int) -> bytes:
    return json.dumps({"context": context(i)}, separators=(",", ":")).encode()
