"""Creating, editing and archiving team metrics: the policy (flags.policy: editors change,
viewers read), the audit entry, and the rules that keep results trustworthy
(docs/experiments.md, "Team metrics: changes"):

- the key never changes (experiments, gates and snapshots name metrics by key);
- while an experiment that has started and is not concluded (running or stopped: results can
  still be refreshed and a decision made) uses a metric, its definition fields
  (`DEFINITION_FIELDS`) are refused: its numbers would change mid-experiment. Name,
  description and format may change;
- archiving hides a metric from the pickers; experiments that use it keep computing it.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from flags import policy
from flags.changes import Actor, audit_record
from flags.validation import ConfigError

from .models import Experiment, MetricDefinition, Status
from .team_metrics import DEFINITION_FIELDS, MAX_TEAM_METRICS, definition_clean


def metric_usage(key: str) -> list[Experiment]:
    """The experiments (any status) that name the metric: primary, secondary or guardrail."""
    rows = Experiment.objects.select_related("flag", "environment").order_by("-created_at")
    return [e for e in rows if key in e.metric_keys]


def _authorize(actor: Actor) -> None:
    if actor.user is not None:
        policy.require_metric_change(actor.user)


def _audit(d: MetricDefinition, *, actor: Actor, action: str, summary: str, diff: Any) -> None:
    audit_record(
        actor=actor,
        action=action,
        object_type="metric",
        object_key=d.key,
        summary=f"{d.key}: {summary}",
        diff=diff,
    )


@transaction.atomic
def team_metric_create(*, data: Any, actor: Actor) -> MetricDefinition:
    _authorize(actor)
    fields = definition_clean(data)
    if MetricDefinition.objects.filter(key=fields["key"]).exists():
        raise ConfigError([("key", f"A metric {fields['key']!r} exists already.")])
    if MetricDefinition.objects.count() >= MAX_TEAM_METRICS:
        raise ConfigError(
            [("key", f"At most {MAX_TEAM_METRICS} team metrics (archived ones count).")]
        )
    d = MetricDefinition.objects.create(created_by=actor.user, **fields)
    diff = [{"path": k, "before": None, "after": v} for k, v in fields.items() if k != "key"]
    _audit(d, actor=actor, action="metric.created", summary="created", diff=diff)
    return d


@transaction.atomic
def team_metric_update(
    *, definition: MetricDefinition, data: Any, actor: Actor
) -> MetricDefinition:
    """Change the given fields (the others keep their values)."""
    _authorize(actor)
    d = MetricDefinition.objects.select_for_update().get(pk=definition.pk)
    fields = definition_clean(data, existing=d, partial=True)
    changed = {k: v for k, v in fields.items() if k != "key" and getattr(d, k) != v}
    if not changed:
        return d
    redefined = [k for k in changed if k in DEFINITION_FIELDS]
    frozen_by = (Status.RUNNING, Status.STOPPED)
    running = [e.key for e in metric_usage(d.key) if e.status in frozen_by]
    if redefined and running:
        raise ConfigError(
            (
                name,
                f"Experiment(s) {', '.join(running)} (running or stopped) use this metric: "
                "its definition cannot change until they are concluded (name, description "
                "and format can).",
            )
            for name in redefined
        )
    diff = [{"path": k, "before": getattr(d, k), "after": v} for k, v in changed.items()]
    for k, v in changed.items():
        setattr(d, k, v)
    d.save()
    _audit(d, actor=actor, action="metric.updated", summary=", ".join(changed), diff=diff)
    return d


@transaction.atomic
def team_metric_archive(
    *, definition: MetricDefinition, archived: bool, actor: Actor
) -> MetricDefinition:
    """Archive (hide from the pickers) or restore a team metric."""
    _authorize(actor)
    d = MetricDefinition.objects.select_for_update().get(pk=definition.pk)
    if d.archived == archived:
        return d
    d.archived = archived
    d.save(update_fields=["archived", "updated_at"])
    action, summary = (
        ("metric.archived", "archived") if archived else ("metric.restored", "restored")
    )
    diff = [{"path": "archived", "before": not archived, "after": archived}]
    _audit(d, actor=actor, action=action, summary=summary, diff=diff)
    return d
