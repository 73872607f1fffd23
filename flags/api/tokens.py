"""Personal tokens: created (shown once) and revoked by their owner. Both are audited."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from flags.changes import Actor, audit_record
from flags.models import PersonalToken


@transaction.atomic
def personal_token_create(*, user: User, name: str) -> tuple[PersonalToken, str]:
    """Returns the row and the raw token, which is not stored and cannot be shown again."""
    raw = PersonalToken.generate()
    token = PersonalToken.objects.create(
        user=user, name=name, token_hash=PersonalToken.hash_token(raw), hint=raw[:10]
    )
    audit_record(
        actor=Actor(user=user),
        action="token.created",
        object_type="token",
        object_key=token.hint,
        summary=f"created personal token {name!r} ({token.hint}…)",
    )
    return token, raw


@transaction.atomic
def personal_token_revoke(*, token: PersonalToken, actor: Actor) -> PersonalToken:
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit_record(
            actor=actor,
            action="token.revoked",
            object_type="token",
            object_key=token.hint,
            summary=f"revoked personal token {token.name!r} ({token.hint}…)",
        )
    return token
