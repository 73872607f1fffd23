"""Standard Webhooks signatures (https://www.standardwebhooks.com/).

Headers: `webhook-id` (the same on every retry), `webhook-timestamp` (seconds since the epoch,
fresh on every attempt) and `webhook-signature`: "v1," + base64(HMAC-SHA256(key, f"{id}.{ts}." +
body)), where key is the base64-decoded part of the secret "whsec_<base64>". Receivers with any
Standard Webhooks (or Svix) library verify it as it is; docs/alerts.md shows a hand-written check.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

PREFIX = "whsec_"


def secret_generate() -> str:
    return PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def secret_key(secret: str) -> bytes:
    """The HMAC key of a "whsec_<base64>" secret. ValueError when it is not one."""
    raw = secret.removeprefix(PREFIX)
    try:
        key = base64.b64decode(raw, validate=True)
    except ValueError:
        raise ValueError("secret: must be 'whsec_' followed by base64") from None
    if len(key) < 24:
        raise ValueError("secret: the key must be at least 24 bytes")
    return key


def signature(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signed_headers(secret: str, message_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature(secret, message_id, timestamp, body),
    }
