"""Who may do what in the UI. Every view that writes calls one of the `require_*` helpers, so
the rule lives in one place and the templates ask the same functions (via `Access`).

- viewer: reads everything, writes nothing.
- editor: changes flags and segments outside production; creates flags.
- admin: everything, production included; environments, API keys and users.

Changes that reach production without naming an environment need an admin too: a flag's
variants and lifecycle (they change what production serves) and a segment that a production
rule uses.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied

from .models import Environment, FlagConfig, Role, Segment, user_role


@dataclass(frozen=True)
class Access:
    """The current user's role, as the templates and views ask about it."""

    role: Role | None

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    @property
    def can_write(self) -> bool:
        return self.role in (Role.EDITOR, Role.ADMIN)

    def can_change(self, environment: Environment | None) -> bool:
        """May change a flag's configuration in this environment."""
        if environment is not None and environment.is_production:
            return self.is_admin
        return self.can_write


def access_for(user: Any) -> Access:
    return Access(user_role(user))


def require_write(user: Any) -> None:
    if not access_for(user).can_write:
        raise PermissionDenied("Viewers cannot change anything.")


def require_admin(user: Any) -> None:
    if not access_for(user).is_admin:
        raise PermissionDenied("Only admins can do this.")


def require_environment(user: Any, environment: Environment) -> None:
    if not access_for(user).can_change(environment):
        if environment.is_production:
            raise PermissionDenied(f"Only admins can change {environment.key} (production).")
        raise PermissionDenied("Viewers cannot change anything.")


def segment_in_production(segment: Segment) -> bool:
    """A production configuration uses this segment (in a rule clause)."""
    for config in FlagConfig.objects.filter(environment__is_production=True).only("rules"):
        for rule in config.rules or []:
            for clause in rule.get("clauses") or []:
                if clause.get("op") == "segment" and segment.key in (clause.get("values") or []):
                    return True
    return False


def require_segment_change(user: Any, segment: Segment | None) -> None:
    require_write(user)
    if segment is not None and not access_for(user).is_admin and segment_in_production(segment):
        raise PermissionDenied(
            f"Segment {segment.key} is used in production; only admins can change it."
        )
