"""Authentication for the management API: a person's session or a personal token
(`Authorization: Token fs_pat_…` or `Authorization: Bearer fs_pat_…`); the token acts with its
owner's role. API keys (the delivery endpoints) are delivery.auth's business."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from rest_framework import authentication, exceptions

from flags.models import PersonalToken
from flags.models.tokens import TOKEN_PREFIX


def raw_token_from_headers(meta: dict[str, Any]) -> str | None:
    scheme, _, value = meta.get("HTTP_AUTHORIZATION", "").partition(" ")
    value = value.strip()
    if scheme.lower() == "token" or (scheme.lower() == "bearer" and value.startswith(TOKEN_PREFIX)):
        return value or None
    return None


class PersonalTokenAuthentication(authentication.BaseAuthentication):
    """`Authorization: Token fs_pat_…` (or Bearer fs_pat_…): act as the token's owner."""

    def authenticate(self, request: Any) -> tuple[Any, PersonalToken] | None:
        raw = raw_token_from_headers(request.META)
        if raw is None:
            return None
        token = (
            PersonalToken.objects.select_related("user", "user__flagsite_profile")
            .filter(token_hash=PersonalToken.hash_token(raw), revoked_at__isnull=True)
            .first()
        )
        if token is None or not token.user.is_active:
            raise exceptions.AuthenticationFailed("Unknown or revoked personal token.")
        now = timezone.now()
        if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
            PersonalToken.objects.filter(pk=token.pk).update(last_used_at=now)
        return token.user, token

    def authenticate_header(self, request: Any) -> str:
        return 'Token realm="flagsite"'
