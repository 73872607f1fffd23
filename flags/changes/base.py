"""What every change function shares: the actor, the version and audit rows, validation
helpers, and publishing the affected environments' rulesets after commit."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F

from flagsite.storable import unstorable_in

from ..models import AuditEvent, Environment, Segment, Version
from ..publish_commit import publish_after_commit
from ..ruleset import segment_data
from ..validation import ConfigError

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


def audit_record(
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
    event = AuditEvent(
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
    state = _batch_state()
    if state is not None:
        state.audit_events.append(event)  # inserted with the others when the batch ends
    else:
        event.save(force_insert=True)
    return event


def version_record(*, actor: Actor, comment: str, **fields: Any) -> Version:
    version = Version(author=actor.user, actor_label=actor.label, comment=comment, **fields)
    state = _batch_state()
    if state is not None:
        state.versions.append(version)
    else:
        version.save(force_insert=True)
    return version


def change_record(
    *,
    actor: Actor,
    comment: str,
    action: str,
    object_key: str,
    summary: str,
    version_fields: dict[str, Any],
    environment: Environment | None = None,
    diff: list[dict[str, Any]] | None = None,
) -> Version:
    """Write the new Version and the AuditEvent that points at it (every change does both)."""
    version = version_record(actor=actor, comment=comment, **version_fields)
    audit_record(
        actor=actor,
        action=action,
        object_type=action.split(".")[0],
        object_key=object_key,
        environment=environment,
        summary=summary,
        version=version,
        comment=comment,
        diff=diff,
    )
    return version


def _bump_and_publish(environments: list[Environment]) -> None:
    """Move the environments' ruleset versions (what every process compares against) and
    publish each once after the commit, however many changes the transaction makes."""
    ids = [e.id for e in environments]
    state = _batch_state()
    if state is not None:
        state.bumped.update(ids)  # one update when the batch ends
        return
    Environment.objects.filter(id__in=ids).update(ruleset_version=F("ruleset_version") + 1)
    for env_id in ids:
        publish_after_commit(env_id)


def _clean(obj: Any, *, exclude: list[str], validate_unique: bool = True) -> None:
    """Model validation (key format, lengths) reported like every other refusal."""
    try:
        obj.full_clean(exclude=exclude, validate_unique=validate_unique)
    except ValidationError as exc:
        raise ConfigError(
            (field, message) for field, messages in exc.message_dict.items() for message in messages
        ) from None


def refuse_unstorable(**fields: Any) -> None:
    """Text the database cannot store (NUL, lone surrogates), anywhere in these fields, is
    refused naming its path (`rules[0].id`): the API answers 400, the UI shows it."""
    errors = [found for name, value in fields.items() if (found := unstorable_in(value, name))]
    if errors:
        raise ConfigError(errors)


@dataclass
class _Batch:
    """What validation reads, kept current by the writes of one batch of changes."""

    segments: dict[str, dict[str, Any]] | None = None
    # environment id -> {flag key: flag in ruleset format} (archived flags left out)
    flags: dict[int, dict[str, dict[str, Any]]] = field(default_factory=dict)
    environments: list[Environment] | None = None
    # Configurations created in this batch, inserted (in their final state) when it ends.
    configs: dict[tuple[int, int], Any] = field(default_factory=dict)
    flag_keys: set[str] | None = None
    # Written when the batch ends, in a few statements: versions, then the audit events that
    # point at them, then one version bump per touched environment.
    versions: list[Version] = field(default_factory=list)
    audit_events: list[AuditEvent] = field(default_factory=list)
    bumped: set[int] = field(default_factory=set)


_batch = threading.local()


@contextmanager
def changes_batch() -> Iterator[None]:
    """Many changes in one transaction (an import, a new environment): validation reads every
    segment and flag once and the changes keep that copy current, instead of each change
    re-reading the whole configuration (quadratic, and megabytes per change with big segments).
    Publishing is once per environment per transaction anyway (flags.publish_commit)."""
    if getattr(_batch, "state", None) is not None:
        yield
        return
    state = _batch.state = _Batch()
    try:
        with transaction.atomic():
            yield
            _batch_write(state)
    finally:
        _batch.state = None


def _batch_write(state: _Batch) -> None:
    from ..models import FlagConfig

    _batch.state = None  # from here on, writes go straight to the database
    FlagConfig.objects.bulk_create(list(state.configs.values()), batch_size=500)
    Version.objects.bulk_create(state.versions, batch_size=500)
    AuditEvent.objects.bulk_create(state.audit_events, batch_size=500)  # picks up version ids
    if state.bumped:
        ids = sorted(state.bumped)
        Environment.objects.filter(id__in=ids).update(ruleset_version=F("ruleset_version") + 1)
        for env_id in ids:
            publish_after_commit(env_id)


Change = TypeVar("Change", bound=Callable[..., Any])


def atomic_change(func: Change) -> Change:
    """One change, all or nothing: its own transaction (or savepoint). Inside a batch, which is
    all or nothing as a whole, no savepoint per change (two statements saved per change)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with transaction.atomic(savepoint=_batch_state() is None):
            return func(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def configs_create(configs: list[Any]) -> list[Any]:
    """Insert new configurations now, or (in a batch) when the batch ends."""
    state = _batch_state()
    if state is None:
        from ..models import FlagConfig

        return list(FlagConfig.objects.bulk_create(configs))
    for config in configs:
        state.configs[(config.flag_id, config.environment_id)] = config
    return configs


def config_save(config: Any) -> None:
    if config.pk is None and _batch_state() is not None:
        return  # created in this batch: inserted in its final state when the batch ends
    config.save()


def flag_key_taken(key: str) -> bool:
    state = _batch_state()
    if state is None:
        from ..models import Flag

        return bool(Flag.objects.filter(key=key).exists())
    if state.flag_keys is None:
        from ..models import Flag

        state.flag_keys = set(Flag.objects.values_list("key", flat=True))
    return key in state.flag_keys


def flag_key_used(key: str) -> None:
    state = _batch_state()
    if state is not None and state.flag_keys is not None:
        state.flag_keys.add(key)


def in_batch() -> bool:
    return _batch_state() is not None


def batch_config(flag_id: int, environment_id: int) -> Any:
    """A configuration this batch created (None: not one of them, or no batch)."""
    state = _batch_state()
    return None if state is None else state.configs.get((flag_id, environment_id))


def forget_environments() -> None:
    state = _batch_state()
    if state is not None:
        state.environments = None


def all_environments() -> list[Environment]:
    state = _batch_state()
    if state is None:
        return list(Environment.objects.all())
    if state.environments is None:
        state.environments = list(Environment.objects.all())
    return state.environments


def _batch_state() -> _Batch | None:
    return getattr(_batch, "state", None)


def _all_segments(exclude: Segment | None = None) -> dict[str, dict[str, Any]]:
    state = _batch_state()
    if state is None:
        return {s.key: segment_data(s) for s in Segment.objects.all() if s != exclude}
    if state.segments is None:
        state.segments = {s.key: segment_data(s) for s in Segment.objects.all()}
    skip = exclude.key if exclude is not None else None
    return {k: v for k, v in state.segments.items() if k != skip}


def batch_segment_saved(segment: Segment) -> None:
    state = _batch_state()
    if state is not None and state.segments is not None:
        state.segments[segment.key] = segment_data(segment)


def batch_flags(environment: Environment) -> dict[str, dict[str, Any]] | None:
    """The batch's copy of an environment's flags in ruleset format (None outside a batch)."""
    state = _batch_state()
    return None if state is None else state.flags.get(environment.id)


def batch_flags_loaded(environment: Environment, flags: dict[str, dict[str, Any]]) -> None:
    state = _batch_state()
    if state is not None:
        state.flags[environment.id] = flags


def batch_flag_saved(flag: Any, environment_id: int, data: dict[str, Any] | None) -> None:
    """Keep the batch's copy current: `data` is the flag's ruleset form (None: archived)."""
    state = _batch_state()
    flags = None if state is None else state.flags.get(environment_id)
    if flags is None:
        return
    if data is None:
        flags.pop(flag.key, None)
    else:
        flags[flag.key] = data


def _default_off_variant(variants: list[dict[str, Any]]) -> str:
    for v in variants:
        if v.get("value") in (False, None):
            return str(v["key"])
    return str(variants[-1]["key"]) if variants else ""
