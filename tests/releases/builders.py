"""Builders for rollout tests: a string flag with two model variants, plans, LLM call rows."""

from __future__ import annotations

import itertools
import json
from datetime import datetime
from typing import Any

from flagsite_sdk.engine import compile_ruleset, evaluate

from feedback.models import LlmCall
from flags.changes import Actor, flag_config_update, flag_create
from flags.models import Environment, Flag
from flags.ruleset import ruleset_build
from flagsite import clock
from releases.models import RolloutPlan
from releases.plans import plan_create, plan_start

MODEL_VARIANTS = [{"key": "old", "value": "gpt-4"}, {"key": "new", "value": "gpt-5"}]
_ids = itertools.count()


def model_flag(key: str = "llm-model", *, environment: Environment) -> Flag:
    flag = flag_create(
        key=key, name=key, kind="string", variants=MODEL_VARIANTS, actor=Actor(label="test")
    )
    flag_config_update(
        flag=flag,
        environment=environment,
        actor=Actor(label="test"),
        comment="serve the old model",
        enabled=True,
        default={"variant": "old"},
    )
    return flag


def plan_patch(client: Any, plan: RolloutPlan, body: Any, **headers: str) -> Any:
    """PATCH /api/v1/rollouts/{id} with `body` as JSON (a str is sent as it is)."""
    text = body if isinstance(body, str) else json.dumps(body)
    return client.patch(
        f"/api/v1/rollouts/{plan.pk}", text, content_type="application/json", headers=headers
    )


def draft_plan(actor: Actor, environment: Environment) -> RolloutPlan:
    """A canary draft of a new model flag (the template's phases, the default gates)."""
    flag = model_flag(environment=environment)
    return plan_create(
        flag=flag, environment=environment, variant="new", replaces="old", actor=actor
    )


def started_plan(flag: Flag, environment: Environment, actor: Actor, **options: Any) -> RolloutPlan:
    plan = plan_create(
        flag=flag, environment=environment, variant="new", replaces="old", actor=actor, **options
    )
    return plan_start(plan=plan, actor=actor, comment="start the canary")


def calls(
    environment: Environment,
    *,
    variant: str,
    n: int,
    errors: int = 0,
    flag_key: str = "llm-model",
    at: datetime | None = None,
    **fields: Any,
) -> None:
    at = at or clock.now()
    LlmCall.objects.bulk_create(
        LlmCall(
            environment=environment,
            event_id=f"call-{next(_ids)}",
            timestamp=at,
            received_at=at,
            user_key=f"user-{i}",
            model="gpt",
            error=i < errors,
            flags={flag_key: variant},
            **({"latency_ms": 100.0} | fields),
        )
        for i in range(n)
    )


def served(environment: Environment, flag_key: str, keys: range) -> dict[str, str | None]:
    ruleset = compile_ruleset(ruleset_build(environment))
    return {f"u{i}": evaluate(ruleset, flag_key, {"key": f"u{i}"}).variant for i in keys}
