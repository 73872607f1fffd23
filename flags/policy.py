"""Who may change what, and which changes need a comment: the one policy.

The UI views, the management API, the Django admin and `flags.changes` (and so every script)
ask this module; the table is in docs/security.md ("Who may change what").

One idea carries it: a change **reaches production** when it can change what a production
environment serves. Such a change needs an admin and a comment; any other change needs an
editor. A change reaches production when it changes
- a flag's configuration in a production environment;
- a flag's variants or lifecycle while a production environment exists (every flag has a
  configuration in every environment, so its variant values and its presence reach production);
- a segment that a production rule uses, directly or through other segments (segments name
  segments in their conditions: the whole reference graph is followed);
- a roll-back of any of those (it is the same change).
Environments, API keys and users are admin-only whatever they reach.

`flags.changes` enforces both halves for actors that are users; actors without a user (the
importer, demo data, jobs run from the shell) are trusted with the role, never with the comment.
Views call the same `require_*` functions first, so they refuse before doing any work and their
templates ask the same `Access` object which controls to show.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied

from .models import Environment, Flag, FlagConfig, Role, Segment, Version, user_role
from .validation import ConfigError

# A flag's definition fields whose change reaches every environment's serving.
FLAG_SERVING_FIELDS = ("variants", "lifecycle")


# --- what a change reaches ------------------------------------------------------------------


def _segment_refs(clauses: Iterable[Any]) -> Iterable[str]:
    for clause in clauses or []:
        if isinstance(clause, Mapping) and clause.get("op") == "segment":
            yield from (v for v in clause.get("values") or [] if isinstance(v, str))


def rules_segment_keys(rules: Iterable[Any]) -> list[str]:
    """The segment keys a configuration's rules name directly, in order, each once."""
    keys = (
        key
        for rule in rules or []
        if isinstance(rule, Mapping)
        for key in _segment_refs(rule.get("clauses") or [])
    )
    return list(dict.fromkeys(keys))


def production_segment_keys() -> set[str]:
    """Every segment whose membership can change what a production environment serves: the
    segments production rules name, and the segments those name, to any depth."""
    todo = [
        key
        for rules in FlagConfig.objects.filter(environment__is_production=True).values_list(
            "rules", flat=True
        )
        for key in rules_segment_keys(rules)
    ]
    if not todo:
        return set()
    refs = {
        key: list(_segment_refs(clauses))
        for key, clauses in Segment.objects.values_list("key", "clauses")
    }
    seen: set[str] = set()
    while todo:  # each segment is visited once, so cycles and diamonds cost nothing extra
        key = todo.pop()
        if key not in seen:
            seen.add(key)
            todo.extend(refs.get(key, []))
    return seen


def segment_reaches_production(segment: Segment) -> bool:
    return segment.key in production_segment_keys()


def production_exists() -> bool:
    return Environment.objects.filter(is_production=True).exists()


def flag_change_reaches_production(
    flag: Flag, changes: Mapping[str, Any], *, has_production: bool | None = None
) -> bool:
    """Changing these definition fields (to these values) reaches production.
    `has_production`: production_exists(), when the caller already knows it."""
    changed = any(
        name in changes and changes[name] != getattr(flag, name) for name in FLAG_SERVING_FIELDS
    )
    if not changed:
        return False
    return production_exists() if has_production is None else has_production


def version_reaches_production(version: Version, *, has_production: bool | None = None) -> bool:
    """Restoring this version reaches production (the same test as the change it repeats)."""
    if version.subject == Version.Subject.CONFIG:
        return version.environment is not None and version.environment.is_production
    if version.subject == Version.Subject.FLAG:
        assert version.flag is not None
        return flag_change_reaches_production(
            version.flag, version.data, has_production=has_production
        )
    assert version.segment is not None
    return segment_reaches_production(version.segment)


# --- who may --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Access:
    """The current user's role, as views and templates ask about it."""

    role: Role | None

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    @property
    def can_write(self) -> bool:
        return self.role in (Role.EDITOR, Role.ADMIN)

    def may(self, *, production: bool) -> bool:
        """May make a change that reaches production (or not)."""
        return self.is_admin if production else self.can_write

    def can_change(self, environment: Environment | None) -> bool:
        """May change a flag's configuration in this environment."""
        return self.may(production=environment is not None and environment.is_production)


def access_for(user: Any) -> Access:
    return Access(user_role(user))


def require_write(user: Any) -> None:
    if not access_for(user).can_write:
        raise PermissionDenied("Viewers can read but not change anything.")


def require_admin(user: Any, what: str = "do this") -> None:
    if not access_for(user).is_admin:
        raise PermissionDenied(f"Only admins can {what}.")


def require_change(user: Any, *, production: bool, what: str) -> None:
    """The one role rule: viewers change nothing; a change that reaches production needs an
    admin. `what` completes "Only admins can ..." (e.g. "change production (prod)")."""
    require_write(user)
    if production and not access_for(user).is_admin:
        raise PermissionDenied(f"Only admins can {what}: it changes what production serves.")


def require_environment(user: Any, environment: Environment) -> None:
    require_change(
        user,
        production=environment.is_production,
        what=f"change flags in {environment.key} (production)",
    )


def require_flag_update(user: Any, flag: Flag, changes: Mapping[str, Any]) -> None:
    require_change(
        user,
        production=flag_change_reaches_production(flag, changes),
        what=f"change the variants or lifecycle of {flag.key}",
    )


def require_segment_change(user: Any, segment: Segment | None) -> None:
    """Create a segment (None: it changes nothing until a rule uses it) or change one."""
    require_change(
        user,
        production=segment is not None and segment_reaches_production(segment),
        what=f"change segment {segment.key if segment else ''}, which production rules use"
        " (directly or through other segments)",
    )


def require_metric_change(user: Any) -> None:
    """Create, edit or archive a team-defined metric (experiments.team_metric_changes): metrics
    change what experiments measure, never what an environment serves, so an editor may."""
    require_change(user, production=False, what="change team metrics")


def require_version_restore(user: Any, version: Version) -> None:
    require_change(
        user, production=version_reaches_production(version), what="roll back this version"
    )


# --- which changes need a comment -------------------------------------------------------------


def require_comment(comment: str, *, production: bool, what: str) -> None:
    """A change that reaches production needs a comment (400 on `comment`). `what` says what the
    change does, as in require_change."""
    if production and not (comment or "").strip():
        raise ConfigError(
            [("comment", f"Changes that reach production need a comment (this one would {what}).")]
        )


def authorize(actor_user: Any, *, production: bool, what: str) -> None:
    """The role half, as `flags.changes` runs it: users are checked, scripts are trusted."""
    if actor_user is not None:
        require_change(actor_user, production=production, what=what)
