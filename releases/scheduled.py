"""Scheduled changes: any configuration change, applied at a time by the rollout job.

Scheduling (`scheduled_change_create`, which the API and the Rollouts tab's form both call)
checks what it can now: the person's right to change that environment, the production comment,
a time in the future and at most `MAX_AHEAD` away, something to change, and the changes as
today's configuration accepts them (a variant the flag does not have is refused). Applying
re-validates through `flags.changes.flag_config_update`, whose refusal marks the change
`failed` with the reason (the configuration may have moved meanwhile). Applying claims the row
(`select_for_update(skip_locked=True)` + a status check), so two workers never apply one change
twice.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from flags import policy
from flags.changes import (
    CONFIG_FIELDS,
    Actor,
    audit_record,
    flag_config_check,
    flag_config_update,
)
from flags.changes.base import refuse_unstorable
from flags.models import Environment, Flag
from flags.validation import ConfigError
from flagsite import clock

from .models import ScheduledChange, ScheduledStatus

# How far ahead a change may be scheduled: a year covers seasonal switches; further out the
# flag has usually changed so much that the change would fail, or a typo in the year slipped in.
MAX_AHEAD = timedelta(days=365)


def scheduled_change_create(
    *,
    flag: Flag,
    environment: Environment,
    changes: dict[str, Any],
    run_at: datetime,
    actor: Actor,
    comment: str = "",
) -> ScheduledChange:
    what = f"schedule changes in {environment.key}"
    policy.authorize(actor.user, production=environment.is_production, what=what)
    refuse_unstorable(comment=comment, changes=changes)
    errors = _comment_refused(comment, production=environment.is_production, what=what)
    unknown = sorted(set(changes) - set(CONFIG_FIELDS))
    errors += [(f"changes.{name}", "Unknown configuration field.") for name in unknown]
    if not changes:
        errors.append(("changes", "Nothing to change."))
    now = clock.now()
    if run_at <= now:
        errors.append(("run_at", "Must be in the future."))
    elif run_at > now + MAX_AHEAD:
        errors.append(("run_at", f"Must be at most {MAX_AHEAD.days} days ahead."))
    refused = _variants_unknown(flag, changes)
    if changes and not unknown and not refused:
        refused = _refused_now(flag, environment, changes)
    if errors or refused:
        raise ConfigError(errors + refused)
    with transaction.atomic():
        change = ScheduledChange.objects.create(
            flag=flag,
            environment=environment,
            changes=changes,
            run_at=run_at,
            comment=comment,
            created_by=actor.user,
        )
        audit_record(
            actor=actor,
            action="flag.change_scheduled",
            object_type="flag",
            object_key=flag.key,
            environment=environment,
            summary=f"scheduled a change of {', '.join(sorted(changes))} "
            f"for {run_at:%Y-%m-%d %H:%M} UTC",
            comment=comment,
        )
    return change


def _comment_refused(comment: str, *, production: bool, what: str) -> list[tuple[str, str]]:
    try:
        policy.require_comment(comment, production=production, what=what)
    except ConfigError as exc:
        return exc.errors
    return []


def _variants_unknown(flag: Flag, changes: dict[str, Any]) -> list[tuple[str, str]]:
    """The variants the form picks (off variant, default variant) named plainly when the flag
    has no such variant (the validator's words are about the whole configuration)."""
    keys = {v.get("key") for v in flag.variants if isinstance(v, dict)}
    default = changes.get("default")
    named = [
        ("changes.off_variant", changes.get("off_variant")),
        ("changes.default.variant", default.get("variant") if isinstance(default, dict) else None),
    ]
    return [
        (path, f"{key!r} is not a variant of this flag.")
        for path, key in named
        if isinstance(key, str) and key not in keys
    ]


def _refused_now(
    flag: Flag, environment: Environment, changes: dict[str, Any]
) -> list[tuple[str, str]]:
    """The validator's refusals of these changes on today's configuration, under `changes.`
    (the configuration may still move before `run_at`: applying validates again)."""
    try:
        flag_config_check(flag=flag, environment=environment, changes=changes)
    except ConfigError as exc:
        return [(f"changes.{path}" if path else "changes", message) for path, message in exc.errors]
    return []


@transaction.atomic
def scheduled_change_cancel(
    *, change: ScheduledChange, actor: Actor, comment: str = ""
) -> ScheduledChange:
    policy.authorize(
        actor.user, production=change.environment.is_production, what="cancel scheduled changes"
    )
    locked = ScheduledChange.objects.select_for_update().get(pk=change.pk)
    if locked.status != ScheduledStatus.PENDING:
        raise ConfigError([("status", f"This change is {locked.status}.")])
    locked.status, locked.done_at, locked.result = ScheduledStatus.CANCELLED, clock.now(), comment
    locked.save(update_fields=["status", "done_at", "result"])
    audit_record(
        actor=actor,
        action="flag.scheduled_change_cancelled",
        object_type="flag",
        object_key=change.flag.key,
        environment=change.environment,
        summary=f"cancelled the change scheduled for {change.run_at:%Y-%m-%d %H:%M} UTC",
        comment=comment,
    )
    return locked


def scheduled_changes_apply() -> dict[int, str]:
    """Apply every pending change that is due. Returns {id: status}."""
    due = ScheduledChange.objects.filter(status=ScheduledStatus.PENDING, run_at__lte=clock.now())
    return {pk: _apply(pk) for pk in due.order_by("run_at", "id").values_list("id", flat=True)}


def _apply(pk: int) -> str:
    with transaction.atomic():
        change = (
            ScheduledChange.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("flag", "environment", "created_by")
            .filter(pk=pk, status=ScheduledStatus.PENDING)
            .first()
        )
        if change is None:
            return "skipped"
        actor = Actor(user=change.created_by, label="scheduled change")
        try:
            with transaction.atomic():
                flag_config_update(
                    flag=change.flag,
                    environment=change.environment,
                    actor=actor,
                    comment=change.comment or f"scheduled change #{change.pk}",
                    action="flag.scheduled_change_applied",
                    **change.changes,
                )
        except (ValidationError, PermissionDenied) as exc:
            change.status, change.result = ScheduledStatus.FAILED, str(exc)[:2000]
        else:
            change.status = ScheduledStatus.APPLIED
        change.done_at = clock.now()
        claimed = ScheduledChange.objects.filter(pk=pk, status=ScheduledStatus.PENDING).update(
            status=change.status, result=change.result, done_at=change.done_at
        )
        if claimed != 1:  # another worker got there first (SQLite has no row locks)
            transaction.set_rollback(True)
            return "skipped"
        return str(change.status)
