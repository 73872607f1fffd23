"""Small builders for flag data used across flag tests."""

from __future__ import annotations

from typing import Any

from flags.changes import Actor, flag_create, segment_create
from flags.models import Environment, Flag, Segment

BOOL_VARIANTS = [{"key": "on", "value": True}, {"key": "off", "value": False}]


def environments() -> tuple[Environment, Environment]:
    from flags.changes import environment_create

    actor = Actor(label="test")
    dev = Environment.objects.filter(key="dev").first() or environment_create(
        key="dev", name="Dev", actor=actor
    )
    prod = Environment.objects.filter(key="prod").first() or environment_create(
        key="prod", name="Prod", is_production=True, actor=actor
    )
    return dev, prod


def bool_flag(key: str = "new-checkout", **extra: Any) -> Flag:
    return flag_create(
        key=key,
        name=key,
        kind="boolean",
        variants=BOOL_VARIANTS,
        actor=Actor(label="test"),
        **extra,
    )


def segment(key: str = "beta", **fields: Any) -> Segment:
    return segment_create(key=key, name=key, actor=Actor(label="test"), **fields)


def rule(rule_id: str, *clauses: dict[str, Any], serve: dict[str, Any]) -> dict[str, Any]:
    return {"id": rule_id, "name": rule_id, "clauses": list(clauses), "serve": serve}
