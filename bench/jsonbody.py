"""What the nesting-depth limit costs: flagsite.jsonbody.json_parse against plain json.loads.

    .venv/bin/python bench/jsonbody.py

Bodies: a typical evaluate body (a context of 8 attributes), a 1 MiB-class event batch of 1,000
llm_call events (the ingestion limit), a 2.5 MB JSON document of many small objects (the body
limit), and the hostile 10,000 `[` (json.loads raises RecursionError; json_parse refuses it).
Prints microseconds per parse and the ratio json_parse / json.loads (the baseline).
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import timeit

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "flagsite.settings")
os.environ.setdefault("SECRET_KEY", "bench")

import django

django.setup()

from flagsite.jsonbody import JsonTooDeep, json_parse  # noqa: E402


def _events() -> bytes:
    event = {
        "type": "llm_call",
        "model": "gpt-4o",
        "prompt_tokens": 1200,
        "completion_tokens": 300,
        "latency_ms": 812.5,
        "conversation_id": "conv-1234567890",
        "user_key": "user-42",
        "flags": {"llm-model": "gpt-4o", "prompt-version": "v3", "rag-config": "large"},
    }
    return json.dumps({"events": [event | {"id": f"ev-{i:06d}"} for i in range(1_000)]}).encode()


BODIES = {
    "evaluate body (8 attributes)": json.dumps(
        {
            "context": {
                "key": "user-123",
                "tier": "paid",
                "country": "DE",
                "version": "2.3.1",
                "beta": True,
                "orgs": ["a", "b"],
                "seats": 12,
                "email": "x@example.com",
            }
        }
    ).encode(),
    "1,000 llm_call events": _events(),
    "2.5 MB of small objects": json.dumps(
        [{"a": [i, {"b": "[{"}]} for i in range(90_000)]
    ).encode(),
}


def per_call_us(fn: object, body: bytes) -> float:
    timer = timeit.Timer(lambda: fn(body))  # type: ignore[operator]
    number, _ = timer.autorange()
    best = min(timer.repeat(repeat=5, number=number))
    return best / number * 1e6


def main() -> None:
    print(f"{'body':32} {'bytes':>10} {'json.loads us':>14} {'json_parse us':>14} {'ratio':>6}")
    for name, body in BODIES.items():
        base = per_call_us(json.loads, body)
        ours = per_call_us(json_parse, body)
        print(f"{name:32} {len(body):>10,} {base:>14,.1f} {ours:>14,.1f} {ours / base:>6.2f}")
    hostile = b"[" * 10_000
    try:
        json.loads(hostile)
        base_outcome = "parsed"
    except RecursionError:
        base_outcome = "RecursionError"
    with contextlib.suppress(JsonTooDeep):
        json_parse(hostile)
    refused = per_call_us(lambda b: _refuse(b), hostile)
    print(f"10,000 '[': json.loads -> {base_outcome}; json_parse refuses it in {refused:,.1f} us")


def _refuse(body: bytes) -> None:
    try:
        json_parse(body)
    except JsonTooDeep:
        return


if __name__ == "__main__":
    main()
