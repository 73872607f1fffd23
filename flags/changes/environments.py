"""Environments: a new one starts with every flag disabled."""

from __future__ import annotations

from .. import policy
from ..models import Environment, Flag, FlagConfig, Version
from ..validation import ConfigError
from .base import (
    Actor,
    _bump_and_publish,
    _clean,
    _default_off_variant,
    atomic_change,
    audit_record,
    forget_environments,
    refuse_unstorable,
)

# --- environments --------------------------------------------------------------------------


@atomic_change
def environment_create(
    *,
    key: str,
    name: str,
    actor: Actor,
    is_production: bool = False,
    sort_order: int = 0,
    color: str = "#64748b",
) -> Environment:
    """A new environment starts with every flag disabled (serving its off variant). Admins only."""
    if actor.user is not None:
        policy.require_admin(actor.user, "create environments")
    refuse_unstorable(key=key, name=name, color=color)
    if Environment.objects.filter(key=key).exists():
        raise ConfigError([("key", f"An environment with the key {key!r} already exists.")])
    env = Environment(
        key=key, name=name or key, is_production=is_production, sort_order=sort_order, color=color
    )
    _clean(env, exclude=[])
    env.save()
    forget_environments()
    configs = []
    for flag in Flag.objects.all():
        off = _default_off_variant(flag.variants)
        configs.append(
            FlagConfig(
                flag=flag,
                environment=env,
                enabled=False,
                off_variant=off,
                default={"variant": off},
                rules=[],
                prerequisites=[],
            )
        )
    # Two statements for any number of flags (batched), not two per flag.
    configs = FlagConfig.objects.bulk_create(configs, batch_size=1000)
    Version.objects.bulk_create(
        [
            Version(
                author=actor.user,
                actor_label=actor.label,
                comment="environment created",
                subject=Version.Subject.CONFIG,
                flag=config.flag,
                environment=env,
                number=1,
                data=config.as_data(),
            )
            for config in configs
        ],
        batch_size=1000,
    )
    audit_record(
        actor=actor,
        action="environment.created",
        object_type="environment",
        object_key=key,
        environment=env,
        summary=f"created environment {key}",
    )
    _bump_and_publish([env])
    return env
