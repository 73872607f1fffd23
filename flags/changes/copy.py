"""Copy one environment's targeting of a flag to another, as one change."""

from __future__ import annotations

from .. import policy
from ..compare import TARGETING_FIELDS, copy_plan
from ..models import Environment, Flag, FlagConfig
from ..validation import ConfigError
from .base import Actor, atomic_change
from .flags import flag_config_update


class StaleCopy(ConfigError):
    """The copy was previewed against versions that are no longer current."""


@atomic_change
def flag_config_copy(
    *,
    flag: Flag,
    source: Environment,
    target: Environment,
    actor: Actor,
    comment: str = "",
    source_version: int | None = None,
    target_version: int | None = None,
) -> FlagConfig:
    """Give `target` the targeting (off variant, rules, default, prerequisites) `source` has:
    one new version of the target's configuration and one `flag.config_copied` audit event that
    names the source. The target's on/off state is kept. `source_version` / `target_version`
    are the versions the person previewed: when either moved since, nothing is written
    (StaleCopy), so a copy never overwrites a change its author has not seen."""
    if source.pk == target.pk:
        raise ConfigError([("target", "Choose two different environments.")])
    what = f"change flags in {target.key}, a production environment"
    policy.authorize(actor.user, production=target.is_production, what=what)
    locked = {
        c.environment_id: c
        for c in FlagConfig.objects.select_for_update()
        .filter(flag=flag, environment__in=[source, target])
        .order_by("id")
    }
    stale = [
        (name, f"{env.name} changed since the preview (version {seen} then, {now} now).")
        for name, env, seen in (
            ("source_version", source, source_version),
            ("target_version", target, target_version),
        )
        if seen is not None and (now := locked[env.id].version) != seen
    ]
    if stale:
        raise StaleCopy(stale)
    plan = copy_plan(flag, source, target)
    if plan.problems:
        raise ConfigError([("rules", problem) for problem in plan.problems])
    return flag_config_update(
        flag=flag,
        environment=target,
        actor=actor,
        comment=comment,
        action="flag.config_copied",
        summary=f"copied {source.key}'s targeting of {flag.key} to {target.key}"
        f" (v{locked[source.id].version})",
        **{name: plan.changes[name] for name in TARGETING_FIELDS},
    )
