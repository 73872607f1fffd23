"""An experiment's lifecycle: draft -> running -> stopped -> concluded (docs/experiments.md).

Starting, stopping and concluding change the flag through `flags.changes.flag_config_update`
(versioned, audited, the production comment rule of flags/policy.py), with actions
`experiment.started` / `experiment.stopped` / `experiment.concluded`:

- start appends the rule `experiment:<key>` after the flag's targeting rules: of the traffic
  that reaches the default, `traffic_percentage` % is split evenly between the experiment's
  variants, bucketed with the experiment's own salt; nobody outside it is reshuffled;
- stop removes that rule (everyone is served as before the experiment);
- conclude with "ship variant X" removes the rule and makes X the default; "keep control"
  removes the rule and leaves the default as it was before the experiment.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.db import transaction
from django.utils import timezone

from flags import policy
from flags.changes import Actor, audit_record, flag_config_update
from flags.models import Environment, Flag, FlagConfig

from .guardrails import GuardrailError, guardrails_validate
from .metrics import DEFAULT_GUARDRAILS, metric_get
from .models import Experiment, ExperimentResult, Status


class ExperimentError(Exception):
    """A refused experiment change; `field` names the input at fault (the API answers 400)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def _check_metrics(
    *, primary: str, secondary: list[str], guardrails: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Raises on an unknown metric; returns the guardrails as stored."""
    for field, keys in (("primary_metric", [primary]), ("secondary_metrics", secondary)):
        for key in keys:
            try:
                metric_get(key, archived=False)
            except KeyError:
                raise ExperimentError(field, f"Unknown metric {key!r}.") from None
    try:
        return guardrails_validate(guardrails)
    except GuardrailError as exc:
        problems = "; ".join(f"{f}: {m}" for f, m in exc.errors)
        raise ExperimentError("guardrails", problems) from None


def experiment_create(
    *,
    flag: Flag,
    environment: Environment,
    key: str,
    name: str,
    control: str,
    treatments: list[str],
    primary_metric: str,
    actor: Actor,
    traffic_percentage: float = 100.0,
    hypothesis: str = "",
    secondary_metrics: list[str] | None = None,
    guardrails: list[dict[str, Any]] | None = None,
    correction: str = "holm",
    sequential: bool = True,
    target_units_per_variant: int = 1000,
) -> Experiment:
    """A draft experiment (no flag change yet)."""
    if actor.user is not None:
        policy.require_write(actor.user)
    variants = flag.variant_keys
    if control not in variants:
        raise ExperimentError("control", f"{control!r} is not a variant of {flag.key}.")
    if not treatments:
        raise ExperimentError("treatments", "Name at least one treatment variant.")
    for t in treatments:
        if t not in variants or t == control or treatments.count(t) > 1:
            raise ExperimentError("treatments", f"{t!r}: each treatment is another variant.")
    if not 0 < traffic_percentage <= 100 or round(traffic_percentage, 3) != traffic_percentage:
        raise ExperimentError("traffic_percentage", "A percentage above 0, up to 100.")
    if Experiment.objects.filter(key=key).exists():
        raise ExperimentError("key", f"An experiment {key!r} exists already.")
    secondary = list(secondary_metrics or [])
    chosen = [dict(g) for g in (DEFAULT_GUARDRAILS if guardrails is None else guardrails)]
    chosen = _check_metrics(primary=primary_metric, secondary=secondary, guardrails=chosen)
    if correction not in ("holm", "bh"):
        raise ExperimentError("correction", "holm or bh.")
    experiment = Experiment.objects.create(
        key=key,
        name=name or key,
        flag=flag,
        environment=environment,
        control=control,
        treatments=list(treatments),
        traffic_percentage=traffic_percentage,
        hypothesis=hypothesis,
        primary_metric=primary_metric,
        secondary_metrics=secondary,
        guardrails=chosen,
        correction=correction,
        sequential=sequential,
        target_units_per_variant=target_units_per_variant,
        created_by=actor.user,
    )
    _audit(experiment, actor=actor, action="experiment.created", summary="draft", comment="")
    return experiment


def _split(experiment: Experiment) -> list[dict[str, Any]]:
    """Equal weights in thousandths of a percent that add up to exactly 100."""
    variants = experiment.variants
    base, extra = divmod(100_000, len(variants))
    return [
        {"variant": v, "weight": (base + (1 if i < extra else 0)) / 1000}
        for i, v in enumerate(variants)
    ]


def experiment_rule(experiment: Experiment) -> dict[str, Any]:
    return {
        "id": experiment.rule_id,
        "name": f"experiment {experiment.key}",
        "clauses": [],
        "rollout": {"percentage": experiment.traffic_percentage, "bucket_by": "key"},
        "serve": {"split": _split(experiment), "bucket_by": "key", "salt": experiment.salt},
    }


def _refuse_if_busy(experiment: Experiment) -> None:
    """SHARED_CONTRACTS.md: one running experiment or one active rollout plan per flag and
    environment."""
    other = (
        Experiment.objects.filter(
            flag=experiment.flag, environment=experiment.environment, status=Status.RUNNING
        )
        .exclude(pk=experiment.pk)
        .first()
    )
    if other is not None:
        raise ExperimentError(
            "status",
            f"Experiment {other.key!r} is already running on {experiment.flag.key} in "
            f"{experiment.environment.key}: stop it first.",
        )
    try:
        rollout_plan: Any = apps.get_model("releases", "RolloutPlan")
    except LookupError:
        return
    plan = rollout_plan.objects.filter(
        flag=experiment.flag,
        environment=experiment.environment,
        status__in=["running", "paused"],
    ).first()
    if plan is not None:
        raise ExperimentError(
            "status",
            f"Rollout plan {getattr(plan, 'name', plan.pk)!r} is active on {experiment.flag.key} "
            f"in {experiment.environment.key}: finish or cancel it first.",
        )


def _config(experiment: Experiment) -> FlagConfig:
    return FlagConfig.objects.select_for_update().get(
        flag=experiment.flag, environment=experiment.environment
    )


def _without_rule(config: FlagConfig, experiment: Experiment) -> list[dict[str, Any]]:
    return [r for r in config.rules if r.get("id") != experiment.rule_id]


def _lock(experiment: Experiment) -> Experiment:
    return Experiment.objects.select_for_update().get(pk=experiment.pk)


def _allowed(experiment: Experiment, *, actor: Actor, comment: str, what: str) -> None:
    """flags/policy.py: the role, and a comment for a change that reaches production (even
    when the flag's configuration ends up unchanged, e.g. concluding a stopped experiment)."""
    production = experiment.environment.is_production
    what = f"{what} {experiment.key} on {experiment.flag.key} in {experiment.environment.key}"
    policy.authorize(actor.user, production=production, what=what)
    policy.require_comment(comment, production=production, what=what)


def _audit(
    experiment: Experiment, *, actor: Actor, action: str, summary: str, comment: str
) -> None:
    audit_record(
        actor=actor,
        action=action,
        object_type="experiment",
        object_key=experiment.key,
        environment=experiment.environment,
        summary=f"{experiment.key}: {summary}",
        comment=comment,
    )


@transaction.atomic
def experiment_start(*, experiment: Experiment, actor: Actor, comment: str = "") -> Experiment:
    experiment = _lock(experiment)
    if experiment.status != Status.DRAFT:
        raise ExperimentError(
            "status", f"Only a draft can start (this one is {experiment.status})."
        )
    _allowed(experiment, actor=actor, comment=comment, what="start")
    _refuse_if_busy(experiment)
    config = _config(experiment)
    if not config.enabled:
        raise ExperimentError(
            "status", f"{experiment.flag.key} is off in {experiment.environment.key}: turn it on."
        )
    flag_config_update(
        flag=experiment.flag,
        environment=experiment.environment,
        actor=actor,
        comment=comment,
        action="experiment.started",
        rules=[*_without_rule(config, experiment), experiment_rule(experiment)],
    )
    experiment.status = Status.RUNNING
    experiment.started_at = timezone.now()
    experiment.save(update_fields=["status", "started_at"])
    _audit(experiment, actor=actor, action="experiment.started", summary="running", comment=comment)
    return experiment


def _remove_rule(
    experiment: Experiment, *, actor: Actor, comment: str, action: str, **extra: Any
) -> None:
    config = _config(experiment)
    flag_config_update(
        flag=experiment.flag,
        environment=experiment.environment,
        actor=actor,
        comment=comment,
        action=action,
        rules=_without_rule(config, experiment),
        **extra,
    )


@transaction.atomic
def experiment_stop(*, experiment: Experiment, actor: Actor, comment: str = "") -> Experiment:
    experiment = _lock(experiment)
    if experiment.status != Status.RUNNING:
        raise ExperimentError("status", f"Only a running experiment stops ({experiment.status}).")
    _allowed(experiment, actor=actor, comment=comment, what="stop")
    _remove_rule(experiment, actor=actor, comment=comment, action="experiment.stopped")
    experiment.status = Status.STOPPED
    experiment.stopped_at = timezone.now()
    experiment.save(update_fields=["status", "stopped_at"])
    _audit(experiment, actor=actor, action="experiment.stopped", summary="stopped", comment=comment)
    return experiment


def srm_unacknowledged(experiment: Experiment) -> bool:
    """The latest result flags a sample ratio mismatch nobody acknowledged since."""
    latest = ExperimentResult.objects.filter(experiment=experiment).first()
    if latest is None or not latest.data.get("srm", {}).get("flagged"):
        return False
    return experiment.srm_acknowledged_at is None


@transaction.atomic
def experiment_srm_acknowledge(*, experiment: Experiment, actor: Actor) -> Experiment:
    if actor.user is not None:
        policy.require_write(actor.user)
    experiment = _lock(experiment)
    _audit(
        experiment,
        actor=actor,
        action="experiment.srm_acknowledged",
        summary="sample ratio mismatch acknowledged",
        comment="",
    )
    experiment.srm_acknowledged_at = timezone.now()
    experiment.save(update_fields=["srm_acknowledged_at"])
    return experiment


@transaction.atomic
def experiment_conclude(
    *, experiment: Experiment, ship: str, actor: Actor, comment: str = ""
) -> Experiment:
    """`ship`: a treatment variant (it becomes the flag's default) or the control variant
    ("keep control": the default stays what it was before the experiment)."""
    experiment = _lock(experiment)
    if experiment.status not in (Status.RUNNING, Status.STOPPED):
        raise ExperimentError("status", "Only a running or stopped experiment concludes.")
    if ship not in experiment.variants:
        raise ExperimentError("ship", f"Ship one of {', '.join(experiment.variants)}.")
    if srm_unacknowledged(experiment):
        raise ExperimentError(
            "srm",
            "The results show a sample ratio mismatch: acknowledge it before concluding.",
        )
    _allowed(experiment, actor=actor, comment=comment, what="conclude")
    extra: dict[str, Any] = {}
    if ship != experiment.control:
        extra["default"] = {"variant": ship}
    _remove_rule(experiment, actor=actor, comment=comment, action="experiment.concluded", **extra)
    now = timezone.now()
    experiment.status = Status.CONCLUDED
    experiment.decision = ship
    experiment.stopped_at = experiment.stopped_at or now
    experiment.concluded_at = now
    experiment.save(update_fields=["status", "decision", "stopped_at", "concluded_at"])
    decision = "keep control" if ship == experiment.control else f"ship {ship}"
    _audit(
        experiment, actor=actor, action="experiment.concluded", summary=decision, comment=comment
    )
    return experiment
