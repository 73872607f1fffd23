"""Every write to flags, configurations and segments goes through these functions.

Each one validates, writes the new state, an immutable Version and an AuditEvent in one
transaction, bumps the affected environments' ruleset version and publishes the new ruleset
after commit. Nothing is updated in place without a version.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from flagsite_sdk.engine import validate_flag, validate_segment

from .diff import diff_summary, json_diff
from .models import AuditEvent, Environment, Flag, FlagConfig, Lifecycle, Segment, Version
from .ruleset import flag_data, segment_data
from .validation import ConfigError, raise_if_errors

FLAG_FIELDS = ("name", "description", "variants", "tags", "lifecycle", "owner_id")
CONFIG_FIELDS = ("enabled", "off_variant", "rules", "default", "prerequisites")
SEGMENT_FIELDS = (
    "name",
    "description",
    "included",
    "excluded",
    "clauses",
    "percentage",
    "bucket_by",
)


@dataclass(frozen=True)
class Actor:
    """Who makes a change: a user, or a labelled system actor (an API key, a rollout job)."""

    user: Any = None
    label: str = ""

    @property
    def display(self) -> str:
        return str(self.user) if self.user is not None else (self.label or "system")


SYSTEM = Actor(label="system")


def _audit(
    *,
    actor: Actor,
    action: str,
    object_type: str,
    object_key: str,
    summary: str,
    environment: Environment | None = None,
    version: Version | None = None,
    comment: str = "",
    diff: list[dict[str, Any]] | None = None,
) -> AuditEvent:
    return AuditEvent.objects.create(
        actor=actor.user,
        actor_label=actor.label,
        action=action,
        object_type=object_type,
        object_key=object_key,
        environment=environment,
        version=version,
        summary=summary[:500],
        comment=comment,
        diff=diff or [],
    )


def _version(*, actor: Actor, comment: str, **fields: Any) -> Version:
    return Version.objects.create(
        author=actor.user, actor_label=actor.label, comment=comment, **fields
    )


def _bump_and_publish(environments: list[Environment]) -> None:
    from .publish import ruleset_publish_on_commit

    ids = [e.id for e in environments]
    Environment.objects.filter(id__in=ids).update(ruleset_version=F("ruleset_version") + 1)
    for env_id in ids:
        ruleset_publish_on_commit(env_id)


def _clean(obj: Any, *, exclude: list[str]) -> None:
    """Model validation (key format, lengths) reported like every other refusal."""
    try:
        obj.full_clean(exclude=exclude)
    except ValidationError as exc:
        raise ConfigError(
            (field, message) for field, messages in exc.message_dict.items() for message in messages
        ) from None


def _require_comment(environment: Environment, comment: str) -> None:
    if environment.is_production and not comment.strip():
        raise ConfigError(
            [("comment", f"Changes to {environment.key} (production) need a comment.")]
        )


def _other_flags(environment: Environment, exclude: Flag | None) -> dict[str, dict[str, Any]]:
    configs = {c.flag_id: c for c in FlagConfig.objects.filter(environment=environment)}
    return {
        f.key: flag_data(f, configs.get(f.id))
        for f in Flag.objects.exclude(lifecycle=Lifecycle.ARCHIVED)
        if exclude is None or f.id != exclude.id
    }


def _all_segments(exclude: Segment | None = None) -> dict[str, dict[str, Any]]:
    return {s.key: segment_data(s) for s in Segment.objects.all() if s != exclude}


def _validate_flag_in(flag: Flag, config_data: dict[str, Any], environment: Environment) -> None:
    data = flag_data(flag, None) | config_data
    others = _other_flags(environment, exclude=flag)
    raise_if_errors(validate_flag(data, segments=_all_segments(), flags=others | {flag.key: data}))


def _default_off_variant(variants: list[dict[str, Any]]) -> str:
    for v in variants:
        if v.get("value") in (False, None):
            return str(v["key"])
    return str(variants[-1]["key"]) if variants else ""


# --- flags -------------------------------------------------------------------------------


@transaction.atomic
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
    comment: str = "",
) -> Flag:
    """Create a flag and a disabled configuration (serving the off variant) in every environment."""
    if Flag.objects.filter(key=key).exists():
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
    _clean(flag, exclude=["variants", "tags"])
    off = off_variant or _default_off_variant(variants)
    config_data = {
        "enabled": False,
        "off_variant": off,
        "rules": [],
        "default": {"variant": off},
        "prerequisites": [],
    }
    raise_if_errors(
        validate_flag(flag_data(flag, None) | config_data, segments=_all_segments(), flags=None)
    )
    flag.save()
    version = _version(
        actor=actor,
        comment=comment,
        subject=Version.Subject.FLAG,
        flag=flag,
        number=1,
        data=_flag_snapshot(flag),
    )
    _audit(
        actor=actor,
        action="flag.created",
        object_type="flag",
        object_key=key,
        summary=f"created flag {key} ({kind}, {len(variants)} variants)",
        version=version,
        comment=comment,
    )
    environments = list(Environment.objects.all())
    for env in environments:
        config = FlagConfig.objects.create(flag=flag, environment=env, **config_data)
        _version(
            actor=actor,
            comment=comment,
            subject=Version.Subject.CONFIG,
            flag=flag,
            environment=env,
            number=config.version,
            data=config.as_data(),
        )
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


@transaction.atomic
def flag_update(*, flag: Flag, actor: Actor, comment: str = "", **changes: Any) -> Flag:
    """Change a flag's definition (name, description, variants, tags, lifecycle, owner_id)."""
    unknown = set(changes) - set(FLAG_FIELDS)
    if unknown:
        raise ConfigError(
            [(name, "This field cannot be changed here.") for name in sorted(unknown)]
        )
    flag = Flag.objects.select_for_update().get(pk=flag.pk)
    before = _flag_snapshot(flag)
    for name, value in changes.items():
        setattr(flag, name, value)
    after = _flag_snapshot(flag)
    diff = json_diff(before, after)
    if not diff:
        return flag
    _clean(flag, exclude=["variants", "tags", "key"])
    environments = list(Environment.objects.all())
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
    flag.version += 1
    flag.save()
    version = _version(
        actor=actor,
        comment=comment,
        subject=Version.Subject.FLAG,
        flag=flag,
        number=flag.version,
        data=after,
    )
    _audit(
        actor=actor,
        action="flag.updated",
        object_type="flag",
        object_key=flag.key,
        summary=f"{flag.key}: {diff_summary(diff)}",
        version=version,
        comment=comment,
        diff=diff,
    )
    _bump_and_publish(environments)
    return flag


@transaction.atomic
def flag_config_update(
    *,
    flag: Flag,
    environment: Environment,
    actor: Actor,
    comment: str = "",
    action: str = "flag.config_updated",
    **changes: Any,
) -> FlagConfig:
    """Change how a flag is served in one environment (any of enabled, off_variant, rules,
    default, prerequisites). Validated as a whole before anything is written."""
    unknown = set(changes) - set(CONFIG_FIELDS)
    if unknown:
        raise ConfigError([(name, "Unknown configuration field.") for name in sorted(unknown)])
    config = FlagConfig.objects.select_for_update().get(flag=flag, environment=environment)
    before = config.as_data()
    after = copy.deepcopy(before) | copy.deepcopy(changes)
    diff = json_diff(before, after)
    if not diff:
        return config
    _require_comment(environment, comment)
    _validate_flag_in(flag, after, environment)
    for name, value in changes.items():
        setattr(config, name, value)
    config.version += 1
    config.save()
    version = _version(
        actor=actor,
        comment=comment,
        subject=Version.Subject.CONFIG,
        flag=flag,
        environment=environment,
        number=config.version,
        data=config.as_data(),
    )
    if set(changes) == {"enabled"}:
        summary = f"{'enabled' if config.enabled else 'disabled'} {flag.key} in {environment.key}"
    else:
        summary = f"{flag.key}@{environment.key}: {diff_summary(diff)}"
    _audit(
        actor=actor,
        action=action,
        object_type="flag",
        object_key=flag.key,
        environment=environment,
        summary=summary,
        version=version,
        comment=comment,
        diff=diff,
    )
    _bump_and_publish([environment])
    return config


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
    """Roll back: write a new version equal to `version` (which stays in history untouched)."""
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
            **{k: version.data[k] for k in FLAG_FIELDS if k in version.data},
        )
        return Version.objects.get(subject=Version.Subject.FLAG, flag=flag, number=flag.version)
    assert version.segment is not None
    segment = segment_update(
        segment=version.segment,
        actor=actor,
        comment=note,
        **{k: version.data[k] for k in SEGMENT_FIELDS if k in version.data},
    )
    return Version.objects.get(
        subject=Version.Subject.SEGMENT, segment=segment, number=segment.version
    )


# --- segments ------------------------------------------------------------------------------


def _validate_segment(segment: Segment) -> None:
    _clean(segment, exclude=["included", "excluded", "clauses"])
    others = _all_segments(exclude=segment if segment.pk else None)
    data = segment_data(segment)
    raise_if_errors(validate_segment(data, segments=others | {segment.key: data}))


@transaction.atomic
def segment_create(
    *, key: str, name: str, actor: Actor, comment: str = "", **fields: Any
) -> Segment:
    if Segment.objects.filter(key=key).exists():
        raise ConfigError([("key", f"A segment with the key {key!r} already exists.")])
    unknown = set(fields) - set(SEGMENT_FIELDS)
    if unknown:
        raise ConfigError([(name, "Unknown segment field.") for name in sorted(unknown)])
    segment = Segment(key=key, name=name or key, **fields)
    _validate_segment(segment)
    segment.save()
    version = _version(
        actor=actor,
        comment=comment,
        subject=Version.Subject.SEGMENT,
        segment=segment,
        number=1,
        data=segment.as_data(),
    )
    _audit(
        actor=actor,
        action="segment.created",
        object_type="segment",
        object_key=key,
        summary=f"created segment {key}",
        version=version,
        comment=comment,
    )
    _bump_and_publish(list(Environment.objects.all()))
    return segment


@transaction.atomic
def segment_update(*, segment: Segment, actor: Actor, comment: str = "", **changes: Any) -> Segment:
    unknown = set(changes) - set(SEGMENT_FIELDS)
    if unknown:
        raise ConfigError([(name, "Unknown segment field.") for name in sorted(unknown)])
    segment = Segment.objects.select_for_update().get(pk=segment.pk)
    before = segment.as_data()
    for name, value in changes.items():
        setattr(segment, name, value)
    diff = json_diff(before, segment.as_data())
    if not diff:
        return segment
    _validate_segment(segment)
    segment.version += 1
    segment.save()
    version = _version(
        actor=actor,
        comment=comment,
        subject=Version.Subject.SEGMENT,
        segment=segment,
        number=segment.version,
        data=segment.as_data(),
    )
    _audit(
        actor=actor,
        action="segment.updated",
        object_type="segment",
        object_key=segment.key,
        summary=f"{segment.key}: {diff_summary(diff)}",
        version=version,
        comment=comment,
        diff=diff,
    )
    _bump_and_publish(list(Environment.objects.all()))
    return segment


# --- environments --------------------------------------------------------------------------


@transaction.atomic
def environment_create(
    *,
    key: str,
    name: str,
    actor: Actor,
    is_production: bool = False,
    sort_order: int = 0,
    color: str = "#64748b",
) -> Environment:
    """A new environment starts with every flag disabled (serving its off variant)."""
    if Environment.objects.filter(key=key).exists():
        raise ConfigError([("key", f"An environment with the key {key!r} already exists.")])
    env = Environment(
        key=key, name=name or key, is_production=is_production, sort_order=sort_order, color=color
    )
    _clean(env, exclude=[])
    env.save()
    for flag in Flag.objects.all():
        off = _default_off_variant(flag.variants)
        config = FlagConfig.objects.create(
            flag=flag,
            environment=env,
            enabled=False,
            off_variant=off,
            default={"variant": off},
            rules=[],
            prerequisites=[],
        )
        _version(
            actor=actor,
            comment="environment created",
            subject=Version.Subject.CONFIG,
            flag=flag,
            environment=env,
            number=1,
            data=config.as_data(),
        )
    _audit(
        actor=actor,
        action="environment.created",
        object_type="environment",
        object_key=key,
        environment=env,
        summary=f"created environment {key}",
    )
    _bump_and_publish([env])
    return env
