"""Demo data for `make run`: three environments, the LLM flags, segments, users and keys."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction

from delivery.keys import api_key_create
from delivery.models import ApiKey

from .changes import Actor, environment_create, flag_config_update, flag_create, segment_create
from .models import Environment, Flag, Role, Segment, UserProfile

DEMO_PASSWORD = "flagsite-demo"
# Well-known keys for the *development* environment of the demo only (docs/operations.md).
DEMO_SERVER_KEY = "fs_srv_demo_development_server_key"
DEMO_CLIENT_KEY = "fs_cli_demo_development_client_key"

ACTOR = Actor(label="demo data")

FLAGS: list[dict[str, Any]] = [
    {
        "key": "llm-model",
        "name": "LLM model",
        "kind": "string",
        "description": "Which chat model answers users.",
        "tags": ["llm", "model"],
        "variants": [
            {"key": "gpt-4", "value": "gpt-4"},
            {"key": "gpt-4-turbo", "value": "gpt-4-turbo"},
        ],
        "off_variant": "gpt-4",
    },
    {
        "key": "prompt-version",
        "name": "Prompt version",
        "kind": "string",
        "description": "System prompt template version.",
        "tags": ["llm", "prompt"],
        "variants": [{"key": "v1.3", "value": "v1.3"}, {"key": "v2.0", "value": "v2.0"}],
        "off_variant": "v1.3",
    },
    {
        "key": "rag-config",
        "name": "RAG configuration",
        "kind": "json",
        "description": "Retrieval settings: reranker and top_k.",
        "tags": ["llm", "rag"],
        "variants": [
            {"key": "baseline", "value": {"reranker": False, "top_k": 5}},
            {"key": "reranked", "value": {"reranker": True, "top_k": 10}},
        ],
        "off_variant": "baseline",
    },
    {
        "key": "new-rag-pipeline",
        "name": "New RAG pipeline",
        "kind": "boolean",
        "description": "Route retrieval through the new pipeline.",
        "tags": ["rag"],
        "variants": [{"key": "on", "value": True}, {"key": "off", "value": False}],
        "off_variant": "off",
    },
]

SEGMENTS: list[dict[str, Any]] = [
    {
        "key": "internal-users",
        "name": "Internal users",
        "included": ["alice", "bob", "carol"],
        "clauses": [{"attribute": "email", "op": "ends_with", "values": ["@flagsite.dev"]}],
    },
    {
        "key": "paid-tier",
        "name": "Paid tier",
        "clauses": [{"attribute": "tier", "op": "in", "values": ["paid", "enterprise"]}],
    },
    {"key": "5-percent", "name": "5% of users", "percentage": 5.0},
]

INTERNAL = {"op": "segment", "values": ["internal-users"]}


def _configs(env: str) -> dict[str, dict[str, Any]]:
    """How each flag is served per environment: development is generous, production careful."""
    split = env != "production"
    return {
        "llm-model": {
            "enabled": True,
            "rules": [
                {
                    "id": "internal",
                    "name": "Internal users",
                    "clauses": [INTERNAL],
                    "serve": {"variant": "gpt-4-turbo"},
                }
            ],
            "default": {"variant": "gpt-4-turbo" if env == "development" else "gpt-4"},
        },
        "prompt-version": {
            "enabled": True,
            "rules": [
                {
                    "id": "internal",
                    "name": "Internal users",
                    "clauses": [INTERNAL],
                    "serve": {"variant": "v2.0"},
                },
                {
                    "id": "five-percent",
                    "name": "5% canary",
                    "clauses": [{"op": "segment", "values": ["5-percent"]}],
                    "serve": {"variant": "v2.0"},
                },
            ],
            "default": {"variant": "v1.3"},
        },
        "rag-config": {
            "enabled": True,
            "rules": [
                {
                    "id": "paid",
                    "name": "Paid tier",
                    "clauses": [{"op": "segment", "values": ["paid-tier"]}],
                    "serve": {"variant": "reranked"},
                }
            ],
            "default": (
                {
                    "split": [
                        {"variant": "baseline", "weight": 50},
                        {"variant": "reranked", "weight": 50},
                    ],
                    "bucket_by": "key",
                }
                if split
                else {"variant": "baseline"}
            ),
        },
        "new-rag-pipeline": {
            "enabled": env != "production",
            "rules": [
                {
                    "id": "internal",
                    "name": "Internal users",
                    "clauses": [INTERNAL],
                    "serve": {"variant": "on"},
                }
            ],
            "default": {
                "split": [{"variant": "on", "weight": 25}, {"variant": "off", "weight": 75}],
                "bucket_by": "key",
            },
        },
    }


def _user(username: str, role: Role, *, superuser: bool = False) -> None:
    User = get_user_model()
    if User.objects.filter(username=username).exists():
        return
    if superuser:
        user = User.objects.create_superuser(username, f"{username}@flagsite.dev", DEMO_PASSWORD)
    else:
        user = User.objects.create_user(username, f"{username}@flagsite.dev", DEMO_PASSWORD)
    UserProfile.objects.update_or_create(user=user, defaults={"role": role})


@transaction.atomic
def demo_data_load() -> dict[str, str]:
    """Idempotent: creates what is missing and leaves everything else as it is."""
    _user("admin", Role.ADMIN, superuser=True)
    _user("editor", Role.EDITOR)
    _user("viewer", Role.VIEWER)
    for order, (key, name, prod) in enumerate(
        [
            ("development", "Development", False),
            ("staging", "Staging", False),
            ("production", "Production", True),
        ]
    ):
        if not Environment.objects.filter(key=key).exists():
            environment_create(
                key=key, name=name, is_production=prod, sort_order=order, actor=ACTOR
            )
    for seg in SEGMENTS:
        if not Segment.objects.filter(key=seg["key"]).exists():
            segment_create(actor=ACTOR, **seg)
    for spec in FLAGS:
        if Flag.objects.filter(key=spec["key"]).exists():
            continue
        flag = flag_create(actor=ACTOR, comment="demo data", **spec)
        for env in Environment.objects.all():
            flag_config_update(
                flag=flag,
                environment=env,
                actor=ACTOR,
                comment="demo data",
                **_configs(env.key)[flag.key],
            )
    from feedback.prices import model_prices_load_demo

    model_prices_load_demo()
    dev = Environment.objects.get(key="development")
    for kind, raw in (("server", DEMO_SERVER_KEY), ("client", DEMO_CLIENT_KEY)):
        if not ApiKey.objects.filter(key_hash=ApiKey.hash_key(raw)).exists():
            api_key_create(
                environment=dev, kind=kind, name=f"demo {kind} key", actor=ACTOR, raw=raw
            )
    return {
        "server_key": DEMO_SERVER_KEY,
        "client_key": DEMO_CLIENT_KEY,
        "username": "admin",
        "password": DEMO_PASSWORD,
    }
