"""API keys: created (shown once), looked up by hash, revoked. Every change is audited."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from flags.changes import Actor, audit_record
from flags.models import Environment

from .models import ApiKey


@transaction.atomic
def api_key_create(
    *, environment: Environment, kind: str, name: str, actor: Actor, raw: str | None = None
) -> tuple[ApiKey, str]:
    """Returns the key row and the raw key, which is not stored and cannot be shown again.

    `raw` lets the demo data use a documented, well-known key for the development environment.
    """
    raw = raw or ApiKey.generate(kind)
    key = ApiKey.objects.create(
        environment=environment,
        kind=ApiKey.Kind(kind),
        name=name,
        key_hash=ApiKey.hash_key(raw),
        hint=raw[:10],
        created_by=actor.user,
    )
    audit_record(
        actor=actor,
        action="api_key.created",
        object_type="api_key",
        object_key=key.hint,
        environment=environment,
        summary=f"created {kind} key {name!r} ({key.hint}…)",
    )
    return key, raw


@transaction.atomic
def api_key_revoke(*, api_key: ApiKey, actor: Actor) -> ApiKey:
    if api_key.revoked_at is None:
        api_key.revoked_at = timezone.now()
        api_key.save(update_fields=["revoked_at"])
        audit_record(
            actor=actor,
            action="api_key.revoked",
            object_type="api_key",
            object_key=api_key.hint,
            environment=api_key.environment,
            summary=f"revoked {api_key.kind} key {api_key.name!r} ({api_key.hint}…)",
        )
    return api_key
