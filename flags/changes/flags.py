"""Flags: create, change the definition, change or toggle a configuration, roll back."""

from __future__ import annotations

import copy
from typing import Any

from flagsite_sdk.engine import validate_flag

from .. import policy
from ..diff import diff_summary, json_diff
from ..models import Environment, Flag, FlagConfig, Lifecycle, Version
from ..ruleset import flag_data
from ..validation import ConfigError, raise_if_errors
from .base import (
    CONFIG_FIELDS,
    FLAG_FIELDS,
    SEGMENT_FIELDS,
    Actor,
    _all_segments,
    _bump_and_publish,
    _clean,
    _default_off_variant,
    all_environments,
    atomic_change,
    batch_config,
    batch_flag_saved,
    batch_flags,
    batch_flags_loaded,
    change_record,
    config_save,
    configs_create,
    flag_key_taken,
    flag_key_used,
    in_batch,
    refuse_unstorable,
    version_record,
)
from .segments import segment_update


def _other_flags(environment: Environment, exclude: Flag | None) -> dict[str, dict[str, Any]]:
    flags = batch_flags(environment)
    if flags is None:
        configs = {c.flag_id: c for c in FlagConfig.objects.filter(environment=environment)}
        flags = {
            f.key: flag_data(f, configs.get(f.id))
            for f in Flag.objects.exclude(lifecycle=Lifecycle.ARCHIVED)
        }
        batch_flags_loaded(environment, flags)
    skip = exclude.key if exclude is not None else None
    return {k: v for k, v in flags.items() if k != skip}


def _flag_saved(flag: Flag, environment_id: int, config: FlagConfig | None) -> None:
    archived = flag.lifecycle == Lifecycle.ARCHIVED
    batch_flag_saved(flag, environment_id, None if archived else flag_data(flag, config))


def _validate_flag_in(flag: Flag, config_data: dict[str, Any], environment: Environment) -> None:
    data = flag_data(flag, None) | config_data
    others = _other_flags(environment, exclude=flag)
    raise_if_errors(validate_flag(data, segments=_all_segments(), flags=others | {flag.key: data}))


# --- flags -------------------------------------------------------------------------------


@atomic_change
def flag_create(
    *,
    key: str,
    name: str,
    kind: str,
    variants: list[dict[str, Any]],
    actor: Actor,
    description: str = "",
    tags: list[str] | None = None,
    owner: Any = None,
    lifecycle: str = Lifecycle.ACTIVE,
    salt: str | None = None,
    off_variant: str | None = None,
    default_variant: str | None = None,
    comment: str = "",
) -> Flag:
    """Create a flag and a disabled configuration in every environment: it serves `off_variant`
    while off and `default_variant` once turned on (both default to the off variant).
    It serves nothing new anywhere until a configuration changes: an editor's change."""
    policy.authorize(actor.user, production=False, what="create flags")
    refuse_unstorable(
        key=key,
        name=name,
        description=description,
        variants=variants,
        tags=tags,
        salt=salt,
        off_variant=off_variant,
        comment=comment,
    )
    if flag_key_taken(key):
        raise ConfigError([("key", f"A flag with the key {key!r} already exists.")])
    flag = Flag(
        key=key,
        name=name or key,
        description=description,
        kind=kind,
        variants=variants,
        tags=list(tags or []),
        owner=owner,
        lifecycle=lifecycle,
        salt=salt or key,
    )
    # The key's uniqueness was just checked (a batch knows every key without asking).
    _clean(flag, exclude=["variants", "tags"], validate_unique=not in_batch())
    off = off_variant or _default_off_variant(variants)
    config_data = {
        "enabled": False,
        "off_variant": off,
        "rules": [],
        "default": {"variant": default_variant or off},
        "prerequisites": [],
    }
    raise_if_errors(
        validate_flag(flag_data(flag, None) | config_data, segments=_all_segments(), flags=None)
    )
    flag.save()
    flag_key_used(key)
    change_record(
        actor=actor,
        comment=comment,
        action="flag.created",
        object_key=key,
        summary=f"created flag {key} ({kind}, {len(variants)} variants)",
        version_fields={
            "subject": Version.Subject.FLAG,
            "flag": flag,
            "number": 1,
            "data": _flag_snapshot(flag),
        },
    )
    environments = all_environments()
    configs = configs_create(
        [FlagConfig(flag=flag, environment=env, **config_data) for env in environments]
    )
    for config in configs:
        version_record(
            actor=actor,
            comment=comment,
            subject=Version.Subject.CONFIG,
            flag=flag,
            environment=config.environment,
            number=config.version,
            data=config.as_data(),
        )
        _flag_saved(flag, config.environment_id, config)
    _bump_and_publish(environments)
    return flag


def _flag_snapshot(flag: Flag) -> dict[str, Any]:
    return {
        "name": flag.name,
        "description": flag.description,
        "kind": flag.kind,
        "variants": copy.deepcopy(flag.variants),
        "tags": list(flag.tags),
        "lifecycle": flag.lifecycle,
        "owner_id": flag.owner_id,
    }


@atomic_change
def flag_update(
    *,
    flag: Flag,
    actor: Actor,
    comment: str = "",
    action: str = "flag.updated",
    **changes: Any,
) -> Flag:
    """Change a flag's definition (name, description, variants, tags, lifecycle, owner_id);
    `action` names the audit event (`flag.rolled_back` for a rollback)."""
    refuse_unstorable(comment=comment, **changes)
    unknown = set(changes) - set(FLAG_FIELDS)
    if unknown:
        raise ConfigError(
            [(name, "This field cannot be changed here.") for name in sorted(unknown)]
        )
    flag = Flag.objects.select_for_update().get(pk=flag.pk)
    production = policy.flag_change_reaches_production(flag, changes)
    what = f"change the variants or lifecycle of {flag.key}"
    policy.authorize(actor.user, production=production, what=what)
    before = _flag_snapshot(flag)
    for name, value in changes.items():
        setattr(flag, name, value)
    after = _flag_snapshot(flag)
    diff = json_diff(before, after)
    if not diff:
        return flag
    _clean(flag, exclude=["variants", "tags", "key"])
    environments = all_environments()
    configs = {c.environment_id: c for c in flag.configs.all()}
    for env in environments:
        config = configs.get(env.id)
        if config is not None:
            try:
                _validate_flag_in(flag, config.as_data(), env)
            except ConfigError as exc:
                raise ConfigError(
                    [(path, f"{env.key}: {message}") for path, message in exc.errors]
                ) from None
    policy.require_comment(comment, production=production, what=what)
    flag.version += 1
    flag.save()
    for env in environments:
        _flag_saved(flag, env.id, configs.get(env.id))
    change_record(
        actor=actor,
        comment=comment,
        action=action,
        object_key=flag.key,
        summary=f"{flag.key}: {diff_summary(diff)}",
        diff=diff,
        version_fields={
            "subject": Version.Subject.FLAG,
            "flag": flag,
            "number": flag.version,
            "data": after,
        },
    )
    _bump_and_publish(environments)
    return flag


@atomic_change
def flag_config_update(
    *,
    flag: Flag,
    environment: Environment,
    actor: Actor,
    comment: str = "",
    action: str = "flag.config_updated",
    summary: str = "",
    **changes: Any,
) -> FlagConfig:
    """Change how a flag is served in one environment (any of enabled, off_variant, rules,
    default, prerequisites). Validated as a whole before anything is written. `summary` starts
    the audit entry's summary (the changed paths follow) when the caller can say more."""
    refuse_unstorable(comment=comment, **changes)
    unknown = set(changes) - set(CONFIG_FIELDS)
    if unknown:
        raise ConfigError([(name, "Unknown configuration field.") for name in sorted(unknown)])
    config = batch_config(flag.id, environment.id) or (
        FlagConfig.objects.select_for_update().get(flag=flag, environment=environment)
    )
    what = f"change flags in {environment.key}, a production environment"
    policy.authorize(actor.user, production=environment.is_production, what=what)
    before = config.as_data()
    after = copy.deepcopy(before) | copy.deepcopy(changes)
    diff = json_diff(before, after)
    if not diff:
        return config
    _validate_flag_in(flag, after, environment)
    policy.require_comment(comment, production=environment.is_production, what=what)
    for name, value in changes.items():
        setattr(config, name, value)
    config.version += 1
    config_save(config)
    _flag_saved(flag, environment.id, config)
    if summary:
        summary = f"{summary}: {diff_summary(diff)}"
    elif set(changes) == {"enabled"}:
        summary = f"{'enabled' if config.enabled else 'disabled'} {flag.key} in {environment.key}"
    else:
        summary = f"{flag.key}@{environment.key}: {diff_summary(diff)}"
    change_record(
        actor=actor,
        comment=comment,
        action=action,
        object_key=flag.key,
        environment=environment,
        summary=summary,
        diff=diff,
        version_fields={
            "subject": Version.Subject.CONFIG,
            "flag": flag,
            "environment": environment,
            "number": config.version,
            "data": config.as_data(),
        },
    )
    _bump_and_publish([environment])
    return config


def flag_config_check(*, flag: Flag, environment: Environment, changes: dict[str, Any]) -> None:
    """Would `flag_config_update` accept these changes now? ConfigError if not; writes nothing.
    For callers that store a change to apply later (releases.scheduled)."""
    config = FlagConfig.objects.get(flag=flag, environment=environment)
    _validate_flag_in(flag, copy.deepcopy(config.as_data()) | copy.deepcopy(changes), environment)


def flag_toggle(
    *, flag: Flag, environment: Environment, enabled: bool, actor: Actor, comment: str = ""
) -> FlagConfig:
    return flag_config_update(
        flag=flag,
        environment=environment,
        actor=actor,
        comment=comment,
        action="flag.toggled",
        enabled=enabled,
    )


def version_restore(*, version: Version, actor: Actor, comment: str) -> Version:
    """Roll back: write a new version equal to `version` (which stays in history untouched).
    The same change as the one it repeats, so the same policy: checked here on the caller's own
    comment, before a default note is filled in."""
    production = policy.version_reaches_production(version)
    policy.authorize(actor.user, production=production, what="roll back this version")
    policy.require_comment(comment, production=production, what="roll back this version")
    note = comment or f"rolled back to version {version.number}"
    if version.subject == Version.Subject.CONFIG:
        assert version.flag is not None and version.environment is not None
        config = flag_config_update(
            flag=version.flag,
            environment=version.environment,
            actor=actor,
            comment=note,
            action="flag.rolled_back",
            **{k: version.data[k] for k in CONFIG_FIELDS},
        )
        return Version.objects.get(
            subject=Version.Subject.CONFIG,
            flag=version.flag,
            environment=version.environment,
            number=config.version,
        )
    if version.subject == Version.Subject.FLAG:
        assert version.flag is not None
        flag = flag_update(
            flag=version.flag,
            actor=actor,
            comment=note,
            action="flag.rolled_back",
            **{k: version.data[k] for k in FLAG_FIELDS if k in version.data},
        )
        return Version.objects.get(subject=Version.Subject.FLAG, flag=flag, number=flag.version)
    assert version.segment is not None
    segment = segment_update(
        segment=version.segment,
        actor=actor,
        comment=note,
        action="segment.rolled_back",
        **{k: version.data[k] for k in SEGMENT_FIELDS if k in version.data},
    )
    return Version.objects.get(
        subject=Version.Subject.SEGMENT, segment=segment, number=segment.version
    )
