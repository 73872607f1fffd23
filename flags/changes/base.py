"""What every change function shares: the actor, the version and audit rows, validation
helpers, and publishing the affected environments' rulesets after commit."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import F

from flagsite.storable import unstorable_in

from ..models import AuditEvent, Environment, Segment, Version
from ..publish import ruleset_publish_on_commit
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


def version_record(*, actor: Actor, comment: str, **fields: Any) -> Version:
    return Version.objects.create(
        author=actor.user, actor_label=actor.label, comment=comment, **fields
    )


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


def refuse_unstorable(**fields: Any) -> None:
    """Text the database cannot store (NUL, lone surrogates), anywhere in these fields, is
    refused naming its path (`rules[0].id`): the API answers 400, the UI shows it."""
    errors = [found for name, value in fields.items() if (found := unstorable_in(value, name))]
    if errors:
        raise ConfigError(errors)


def _require_comment(environment: Environment, comment: str) -> None:
    if environment.is_production and not comment.strip():
        raise ConfigError(
            [("comment", f"Changes to {environment.key} (production) need a comment.")]
        )


def _all_segments(exclude: Segment | None = None) -> dict[str, dict[str, Any]]:
    return {s.key: segment_data(s) for s in Segment.objects.all() if s != exclude}


def _default_off_variant(variants: list[dict[str, Any]]) -> str:
    for v in variants:
        if v.get("value") in (False, None):
            return str(v["key"])
    return str(variants[-1]["key"]) if variants else ""
