"""The pieces every management view shares.

Who may do what is decided by `flags.policy` (the same rules as the UI; the table is in
docs/security.md): views call its `require_*` functions before parsing the body, and
`flags.changes` checks again. Its refusals (Django's PermissionDenied) answer 403 in the usual
error shape.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, cast

from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.shortcuts import get_object_or_404
from rest_framework import authentication, exceptions, permissions
from rest_framework.request import Request
from rest_framework.views import APIView

from flags import policy
from flags.changes import Actor
from flags.models import Environment, Flag, FlagConfig, PersonalToken, Segment
from flags.publish_commit import PENDING_MESSAGE, publish_pending
from flags.validation import ConfigError

from .auth import PersonalTokenAuthentication


def actor_for(request: Any) -> Actor:
    token = request.auth if isinstance(request.auth, PersonalToken) else None
    label = f"personal token {token.hint}…" if token is not None else ""
    return Actor(user=request.user, label=label)


@contextmanager
def config_errors_as_400() -> Iterator[None]:
    """flags.changes refuses with ConfigError((path, message), …) or a model ValidationError:
    answer 400 with those fields."""
    try:
        yield
    except ConfigError as exc:
        fields: dict[str, list[str]] = {}
        for path, message in exc.errors:
            fields.setdefault(path or "non_field_errors", []).append(message)
        raise exceptions.ValidationError(fields) from None
    except DjangoValidationError as exc:
        detail = (
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        )
        raise exceptions.ValidationError(detail) from None


def parsed(
    serializer_class: type, request: Any, *, partial: bool = False, write: bool = True
) -> dict[str, Any]:
    """The validated body. For a write (`write`), the caller must at least be allowed to write
    before the body is read: a viewer gets 403, never a parse error (production rights that
    depend on the body are checked by the view afterwards). Unstorable text (NUL, lone
    surrogates) is refused by flags.changes, naming the field."""
    if write:
        policy.require_write(request.user)
    serializer = serializer_class(data=request.data, partial=partial)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def _lookup_key(key: str) -> str:
    # PostgreSQL refuses NUL in text parameters (a 500); no key can contain one anyway.
    if "\x00" in key:
        raise exceptions.NotFound()
    return key


def flag_get(key: str) -> Flag:
    return get_object_or_404(Flag, key=_lookup_key(key))


def environment_get(key: str) -> Environment:
    return get_object_or_404(Environment, key=_lookup_key(key))


def segment_get(key: str) -> Segment:
    return get_object_or_404(Segment, key=_lookup_key(key))


def config_get(flag: Flag, environment: Environment) -> FlagConfig:
    return get_object_or_404(
        FlagConfig.objects.select_related("environment"), flag=flag, environment=environment
    )


def request_user(request: Request) -> User:
    """The person behind a ManagementView request: IsAuthenticated has let only signed-in users
    (session or personal token) through, which the type system cannot see."""
    return cast(User, request.user)


class ManagementView(APIView):
    authentication_classes = [
        PersonalTokenAuthentication,
        authentication.SessionAuthentication,
    ]
    permission_classes = [permissions.IsAuthenticated]

    def finalize_response(self, request: Any, response: Any, *args: Any, **kwargs: Any) -> Any:
        """A change saved but not yet in the shared cache says so (docs/api.md, "Publishing")."""
        pending = publish_pending()
        if pending:
            response["Flagsite-Publish"] = "pending; environments=" + ",".join(pending)
            if isinstance(getattr(response, "data", None), dict):
                response.data["publish"] = {
                    "status": "pending",
                    "message": PENDING_MESSAGE,
                    "environments": pending,
                }
        return super().finalize_response(request, response, *args, **kwargs)

    def handle_exception(self, exc: Exception) -> Any:
        # flags.policy refuses with Django's PermissionDenied: keep its message, DRF's code.
        if isinstance(exc, DjangoPermissionDenied):
            exc = exceptions.PermissionDenied(str(exc) or None)
        return super().handle_exception(exc)
