"""Segments: create and change (each change republishes every environment)."""

from __future__ import annotations

from typing import Any

from flagsite_sdk.engine import validate_segment

from .. import policy
from ..diff import diff_summary, json_diff
from ..models import Segment, Version
from ..ruleset import segment_data
from ..validation import ConfigError, raise_if_errors
from .base import (
    SEGMENT_FIELDS,
    Actor,
    _all_segments,
    _bump_and_publish,
    _clean,
    all_environments,
    atomic_change,
    batch_segment_saved,
    change_record,
    refuse_unstorable,
)

# --- segments ------------------------------------------------------------------------------


def _validate_segment(segment: Segment) -> None:
    _clean(segment, exclude=["included", "excluded", "clauses"])
    others = _all_segments(exclude=segment if segment.pk else None)
    data = segment_data(segment)
    raise_if_errors(validate_segment(data, segments=others | {segment.key: data}))


@atomic_change
def segment_create(
    *, key: str, name: str, actor: Actor, comment: str = "", **fields: Any
) -> Segment:
    # A new segment changes nothing until a rule uses it: an editor's change.
    policy.authorize(actor.user, production=False, what="create segments")
    refuse_unstorable(key=key, name=name, comment=comment, **fields)
    if Segment.objects.filter(key=key).exists():
        raise ConfigError([("key", f"A segment with the key {key!r} already exists.")])
    unknown = set(fields) - set(SEGMENT_FIELDS)
    if unknown:
        raise ConfigError([(name, "Unknown segment field.") for name in sorted(unknown)])
    segment = Segment(key=key, name=name or key, **fields)
    _validate_segment(segment)
    segment.save()
    batch_segment_saved(segment)
    change_record(
        actor=actor,
        comment=comment,
        action="segment.created",
        object_key=key,
        summary=f"created segment {key}",
        version_fields={
            "subject": Version.Subject.SEGMENT,
            "segment": segment,
            "number": 1,
            "data": segment.as_data(),
        },
    )
    _bump_and_publish(all_environments())
    return segment


@atomic_change
def segment_update(
    *,
    segment: Segment,
    actor: Actor,
    comment: str = "",
    action: str = "segment.updated",
    **changes: Any,
) -> Segment:
    """Change a segment; `action` names the audit event (`segment.rolled_back` for a rollback)."""
    refuse_unstorable(comment=comment, **changes)
    unknown = set(changes) - set(SEGMENT_FIELDS)
    if unknown:
        raise ConfigError([(name, "Unknown segment field.") for name in sorted(unknown)])
    segment = Segment.objects.select_for_update().get(pk=segment.pk)
    production = policy.segment_reaches_production(segment)
    what = f"change segment {segment.key}, which production rules use (directly or nested)"
    policy.authorize(actor.user, production=production, what=what)
    before = segment.as_data()
    for name, value in changes.items():
        setattr(segment, name, value)
    diff = json_diff(before, segment.as_data())
    if not diff:
        return segment
    _validate_segment(segment)
    policy.require_comment(comment, production=production, what=what)
    segment.version += 1
    segment.save()
    batch_segment_saved(segment)
    change_record(
        actor=actor,
        comment=comment,
        action=action,
        object_key=segment.key,
        summary=f"{segment.key}: {diff_summary(diff)}",
        diff=diff,
        version_fields={
            "subject": Version.Subject.SEGMENT,
            "segment": segment,
            "number": segment.version,
            "data": segment.as_data(),
        },
    )
    _bump_and_publish(all_environments())
    return segment
