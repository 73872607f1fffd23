"""`experiment_compute_results`: one experiment's result snapshot (docs/experiments.md,
"Computation"). SQL gives the per-variant sufficient statistics (experiments/sufficient.py),
experiments/stats.py does the per-variant arithmetic, the snapshot is stored once per period.

Idempotent and safe with two workers at once: the experiment row is locked with
`SELECT ... FOR UPDATE SKIP LOCKED` (a second worker skips it), and the snapshot is unique per
(experiment, period), so even where the lock is a no-op (SQLite) a second insert of the same
period is refused and the first snapshot returned.
"""

from __future__ import annotations

import logging
import math
from dataclasses import asdict
from datetime import datetime, timedelta
from statistics import NormalDist
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from . import assignments, event_rows, stats, sufficient
from .metrics import Metric, metric_get
from .models import Experiment, ExperimentResult, Status
from .summary import guardrails_check, summary_text

log = logging.getLogger(__name__)


def period_of(now: datetime) -> datetime:
    """`now` floored to the computation interval: the snapshot's identity."""
    step = max(1, int(settings.FLAGSITE_EXPERIMENT_COMPUTE_SECONDS))
    epoch = int(now.timestamp())
    return datetime.fromtimestamp(epoch - epoch % step, tz=now.tzinfo)


def _families(metrics: list[Metric]) -> dict[tuple[str, str], list[Metric]]:
    """Metrics grouped by what one query computes: (source, level)."""
    out: dict[tuple[str, str], list[Metric]] = {}
    for m in metrics:
        if m.retention_days:
            level = "retention"
        elif m.unit == "user" and m.kind != "quantile":
            level = "user"
        else:
            level = "request"  # quantiles: their n (and mean) from here, the values below
        out.setdefault((m.source, level), []).append(m)
    return out


def _moments(
    window: sufficient.Window, metrics: list[Metric]
) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, sufficient.Cuped]]]:
    """(moments, CUPED moments): one query per source for its request- and user-level metrics
    and the CUPED moments of its user-level means and proportions, with the pre-period
    `FLAGSITE_CUPED_PRE_PERIOD_DAYS` before the start (0: CUPED off); one per retention."""
    days = int(settings.FLAGSITE_CUPED_PRE_PERIOD_DAYS)
    pre_since = window.since - timedelta(days=days) if days > 0 else None
    by_metric: dict[str, dict[str, Any]] = {}
    by_source: dict[str, tuple[list[Metric], list[Metric]]] = {}
    for (source, level), chosen in _families(metrics).items():
        if level == "retention":
            for m in chosen:
                by_metric[m.key] = sufficient.retention(window, m)
        else:
            request, user = by_source.setdefault(source, ([], []))
            (user if level == "user" else request).extend(chosen)
    cuped: dict[str, dict[str, sufficient.Cuped]] = {}
    for source, (request, user) in by_source.items():
        eligible = [
            m for m in user if sufficient.cuped_eligible(m) or sufficient.cuped_ratio_eligible(m)
        ]
        found, found_cuped = sufficient.source_moments(
            window, source, request, user, eligible, pre_since
        )
        by_metric.update(found)
        cuped.update(found_cuped)
    return by_metric, cuped


def _cuped_usable(control: sufficient.Cuped | None, treatment: sufficient.Cuped | None) -> bool:
    """Where data allows: both arms with two units and some unit with pre-period data (for a
    ratio also a pre-period denominator in both arms)."""
    if isinstance(control, stats.CupedRatioMoments) or isinstance(
        treatment, stats.CupedRatioMoments
    ):
        return (
            isinstance(control, stats.CupedRatioMoments)
            and isinstance(treatment, stats.CupedRatioMoments)
            and stats.cuped_ratio_usable(control, treatment)
        )
    return (
        control is not None
        and treatment is not None
        and min(control.n, treatment.n) >= 2
        and (control.sum_x2 + treatment.sum_x2) > 0
    )


def _compare(
    metric: Metric, control: Any, treatment: Any, *, alpha: float, tuning: float | None
) -> stats.Comparison:
    proportion = metric.kind == "proportion"
    if isinstance(control, stats.CupedRatioMoments):
        return stats.compare_cuped_ratio(control, treatment, alpha, sequential_tuning=tuning)
    if isinstance(control, stats.CupedMoments):
        return stats.compare_cuped(
            control, treatment, alpha, sequential_tuning=tuning, proportion=proportion
        )
    if isinstance(control, stats.QuantileEstimate):
        return stats.compare_quantile(control, treatment, alpha, sequential_tuning=tuning)
    if isinstance(control, stats.RatioMoments):
        return stats.compare_ratio(control, treatment, alpha, sequential_tuning=tuning)
    return stats.welch(control, treatment, alpha, proportion=proportion, sequential_tuning=tuning)


def _value(moments: Any, *, proportion: bool, z: float) -> dict[str, Any]:
    """One variant's value, its count and a (1 - alpha) interval of the value itself (what
    guardrails compare with their bound)."""
    if moments is None:
        return {"value": None, "n": 0, "lo": None, "hi": None}
    if isinstance(moments, stats.QuantileEstimate):
        return {"value": moments.value, "n": moments.n, "lo": moments.lo, "hi": moments.hi}
    if isinstance(moments, stats.RatioMoments):
        if not moments.sum_y:
            return {"value": None, "n": moments.n, "lo": None, "hi": None}
        value, var = moments.ratio, moments.ratio_variance
    else:
        if not moments.n:
            return {"value": None, "n": 0, "lo": None, "hi": None}
        value = moments.mean
        spread = moments.variance_binary if proportion else moments.variance
        var = spread / moments.n
    half = z * math.sqrt(var)
    return {"value": value, "n": moments.n, "lo": value - half, "hi": value + half}


def _empty(metric: Metric) -> Any:
    if metric.kind == "quantile":
        return None
    if metric.kind == "ratio" or (metric.unit == "user" and not metric.retention_days):
        return stats.RatioMoments(n=0, sum_x=0, sum_x2=0, sum_y=0, sum_y2=0, sum_xy=0)
    return stats.Moments(n=0, sum=0.0, sum_sq=0.0)


def results_compute(experiment: Experiment, *, until: datetime) -> dict[str, Any]:
    """The snapshot's data (a JSON-able dict) at `until`."""
    since = experiment.started_at or until
    variants = experiment.variants
    metrics = [metric_get(k) for k in experiment.metric_keys]
    window = sufficient.Window(experiment=experiment, since=since, until=until)
    with event_rows.materialised():  # the lookups the queries share, computed once
        assignments.assignments_refresh(experiment, until=until)  # (with the work_mem too)
        units, multiple = assignments.units_by_variant(experiment)
        srm = stats.srm([units[v] for v in variants], [1.0] * len(variants))
        moments, cuped = _moments(window, metrics)
        for metric in metrics:
            if metric.kind == "quantile":
                per_variant = moments.get(metric.key, {})
                counts = {v: getattr(per_variant.get(v), "n", 0) for v in variants}
                moments[metric.key] = sufficient.quantiles(window, metric, counts, experiment.alpha)
    tuning = stats.DEFAULT_SEQUENTIAL_TUNING if experiment.sequential else None
    z = NormalDist().inv_cdf(1 - experiment.alpha / 2)
    rows: list[dict[str, Any]] = []
    for metric in metrics:
        per_variant = moments.get(metric.key, {})
        proportion = metric.kind == "proportion"
        values = {v: _value(per_variant.get(v), proportion=proportion, z=z) for v in variants}
        comparisons = {}
        raw_control = per_variant.get(experiment.control) or _empty(metric)
        pre = cuped.get(metric.key, {})
        for t in experiment.treatments:
            control, treatment = raw_control, per_variant.get(t) or _empty(metric)
            if _cuped_usable(pre.get(experiment.control), pre.get(t)):
                control, treatment = pre[experiment.control], pre[t]  # CUPED where data allows
            if control is None or treatment is None:
                continue
            # Never raises: a degenerate arm (no variance, a control of 0, no denominator)
            # gives a comparison whose `error` the page shows.
            c = _compare(metric, control, treatment, alpha=experiment.alpha, tuning=tuning)
            found = asdict(c)
            if metric.direction == "lower" and c.chance_to_beat is not None:
                found["chance_to_beat"] = 1.0 - c.chance_to_beat  # the chance to be *better*
            comparisons[t] = found
        rows.append(
            {
                "metric": metric.key,
                "name": metric.name,
                "kind": metric.kind,
                "unit": metric.unit,
                "direction": metric.direction,
                "format": metric.format,
                "role": _role(experiment, metric.key),
                "values": values,
                "comparisons": comparisons,
                "cuped_pre_period_days": settings.FLAGSITE_CUPED_PRE_PERIOD_DAYS
                if any("cuped" in str(c.get("method", "")) for c in comparisons.values())
                else None,
            }
        )
    _correct(rows, experiment.correction, experiment.alpha)
    data: dict[str, Any] = {
        "until": until.isoformat(),
        "variants": variants,
        "control": experiment.control,
        "units": units,
        "multiple_variant_units": multiple,
        "srm": asdict(srm),
        "correction": experiment.correction,
        "sequential": experiment.sequential,
        "sequential_tuning": tuning,
        "alpha": experiment.alpha,
        "target_units_per_variant": experiment.target_units_per_variant,
        "metrics": rows,
    }
    data["guardrails"] = guardrails_check(experiment, data)
    data["summary"] = summary_text(experiment, data)
    return dict(_finite(data))


def _finite(value: Any) -> Any:
    """JSON has no NaN or infinity (an interval with no variance, a df of infinity): None."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def _role(experiment: Experiment, key: str) -> str:
    if key == experiment.primary_metric:
        return "primary"
    if key in experiment.secondary_metrics:
        return "secondary"
    return "guardrail"


def _correct(rows: list[dict[str, Any]], method: str, alpha: float) -> None:
    """Holm or Benjamini-Hochberg over every (primary or secondary metric, treatment) p-value;
    guardrails are watched, not tested, so they are left out of the family."""
    tested = [
        comparison
        for row in rows
        if row["role"] != "guardrail"
        for comparison in row["comparisons"].values()
        if comparison.get("abs_ci") is not None
    ]
    adjusted = stats.adjust([c["p_value"] for c in tested], "bh" if method == "bh" else "holm")
    for comparison, p in zip(tested, adjusted, strict=True):
        comparison["p_adjusted"] = p
        comparison["significant"] = p < alpha


def experiment_compute_results(
    *, experiment_id: int, now: datetime | None = None, refresh: bool = False
) -> ExperimentResult | None:
    """Compute and store the snapshot of the current period (or, with `refresh`, of this
    second: the "refresh now" button). None when another worker holds the experiment or it
    is not running or stopped."""
    now = now or timezone.now()
    period = now.replace(microsecond=0) if refresh else period_of(now)
    with transaction.atomic():
        experiment = (
            Experiment.objects.select_for_update(skip_locked=True)
            .select_related("flag", "environment")
            .filter(pk=experiment_id)
            .first()
        )
        if experiment is None or experiment.status not in (Status.RUNNING, Status.STOPPED):
            return None
        existing = ExperimentResult.objects.filter(experiment=experiment, period=period).first()
        if existing is not None:
            return existing
        until = min(now, experiment.stopped_at) if experiment.stopped_at else now
        data = results_compute(experiment, until=until)
        try:
            with transaction.atomic():
                result = ExperimentResult.objects.create(
                    experiment=experiment, period=period, computed_at=now, data=data
                )
        except IntegrityError:  # another worker stored this period first
            stored = ExperimentResult.objects.filter(experiment=experiment, period=period).first()
            if stored is None:
                raise
            return stored
        _alerts_raise(experiment, result)
    return result


def running_experiments_compute(now: datetime | None = None) -> int:
    """The beat job's body: every running experiment, one transaction each."""
    done = 0
    ids = Experiment.objects.filter(status=Status.RUNNING).values_list("id", flat=True)
    for experiment_id in list(ids):
        try:
            if experiment_compute_results(experiment_id=experiment_id, now=now) is not None:
                done += 1
        except Exception:  # one broken experiment must not stop the others
            log.exception("experiment %s: computing results failed", experiment_id)
    return done


def _alerts_raise(experiment: Experiment, result: ExperimentResult) -> None:
    """SRM and breached guardrails raise into the one alert system, once per experiment and
    problem (dedupe keys), in this transaction."""
    from alerts.api import raise_alert

    link = f"/experiments/{experiment.key}/"
    srm = result.data["srm"]
    if srm["flagged"]:
        raise_alert(
            source="experiment",
            dedupe_key=f"experiment:{experiment.pk}:srm",
            severity="warning",
            title=f"Sample ratio mismatch in experiment {experiment.key}",
            body=f"Units per variant {result.data['units']} (chi-square p = {srm['p_value']:.2g})."
            " Assignment or exposure logging is broken until explained.",
            link=link,
            details={"srm": srm, "units": result.data["units"]},
            environment=experiment.environment,
        )
    for guardrail in result.data["guardrails"]:
        if guardrail["breached"]:
            raise_alert(
                source="experiment",
                dedupe_key=f"experiment:{experiment.pk}:guardrail:{guardrail['metric']}:"
                f"{guardrail['variant']}",
                severity="critical",
                title=f"Guardrail {guardrail['name']} breached in experiment {experiment.key}",
                body=guardrail["text"],
                link=link,
                details=guardrail,
                environment=experiment.environment,
            )
