"""Health gates: each gate's metric over its own window, for the units served the new variant.

Values come from the one metric catalogue (`experiments.metrics`) computed by aggregate SQL with
the one attribution rule (`experiments.outcomes` -> `experiments.attribution`): an LLM call
counts for the variant stamped on it, else for its unit's assignment. So "the units currently
served the new variant" are exactly the events attributed to the plan's variant; the control is
the variant it replaces.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from experiments.metrics import Metric, metric_get
from experiments.outcomes import MetricValue, outcomes_by_variant
from experiments.stats import Moments, sequential

from .models import Gate, RolloutPlan

Interval = tuple[float, float]

# Events stamped a little ahead of the server's clock (client clocks drift) still count.
CLIENT_CLOCK_SKEW = timedelta(seconds=60)


@dataclass(frozen=True)
class GateResult:
    gate: Gate
    value: float | None
    sample: int
    control_value: float | None
    control_sample: int
    interval: Interval | None
    breached: bool
    since: datetime
    until: datetime

    @property
    def enough(self) -> bool:
        return self.sample >= self.gate.min_sample

    def describe(self) -> str:
        g = self.gate
        window = _duration(g.window_seconds)
        if g.compare_with_control and self.interval is not None:
            return (
                f"{g.metric}: {fmt(self.metric, self.value)} vs control "
                f"{fmt(self.metric, self.control_value)} (always-valid CI of the difference "
                f"{self.interval[0]:+.4f} to {self.interval[1]:+.4f}) over {window}, "
                f"sample {self.sample} / control {self.control_sample}"
            )
        op = ">" if self.metric.direction == "lower" else "<"
        return (
            f"{g.metric} {fmt(self.metric, self.value)} {op} threshold "
            f"{fmt(self.metric, g.threshold)} over {window}, sample {self.sample}"
        )

    @property
    def metric(self) -> Metric:
        return metric_get(self.gate.metric)


def _duration(seconds: int) -> str:
    if seconds % 3600 == 0:
        return f"{seconds // 3600} h"
    if seconds % 60 == 0:
        return f"{seconds // 60} min"
    return f"{seconds} s"


def fmt(metric: Metric, value: float | None) -> str:
    if value is None:
        return "n/a"
    if metric.format == "percent":
        return f"{value * 100:.2f} %"
    if metric.format == "ms":
        return f"{value:.0f} ms"
    return f"{value:.4g}"


def _worse(metric: Metric, value: float, threshold: float) -> bool:
    return value > threshold if metric.direction == "lower" else value < threshold


def _difference_ci(new: MetricValue, control: MetricValue) -> Interval | None:
    """The always-valid CI of new - control (experiments.stats.sequential: a confidence
    sequence, so a gate may look after every event and still fire falsely at most 5 % of the
    time). Proportion metrics only: their value x n is the number of successes."""
    assert new.value is not None and control.value is not None
    comparison = sequential(
        Moments.proportion(round(control.value * control.n), control.n),
        Moments.proportion(round(new.value * new.n), new.n),
        proportion=True,
        bayesian=False,
    )
    return comparison.abs_ci


def _regression(interval: Interval | None, *, lower_is_better: bool) -> bool:
    """The interval lies entirely on the worse side of zero."""
    if interval is None:
        return False
    lo, hi = interval
    return lo > 0 if lower_is_better else hi < 0


def gate_evaluate(plan: RolloutPlan, gate: Gate, *, now: datetime) -> GateResult:
    metric = metric_get(gate.metric)
    since = now - timedelta(seconds=gate.window_seconds)
    if plan.started_at is not None:
        since = max(since, plan.started_at)  # never judge the plan on what came before it
    until = now + CLIENT_CLOCK_SKEW
    values = outcomes_by_variant(
        environment_id=plan.environment_id,
        flag_key=plan.flag.key,
        since=since,
        until=until,
        metric_keys=(gate.metric,),
    )
    empty = MetricValue(None, 0)
    new = values.get(plan.variant, {}).get(gate.metric, empty)
    control = values.get(plan.replaces, {}).get(gate.metric, empty)
    interval = None
    breached = False
    if new.n >= gate.min_sample and new.value is not None:
        if gate.compare_with_control:
            if control.n >= gate.min_sample and control.value is not None:
                interval = _difference_ci(new, control)
                breached = _regression(interval, lower_is_better=metric.direction == "lower")
        else:
            breached = _worse(metric, new.value, gate.threshold)
    return GateResult(
        gate=gate,
        value=new.value,
        sample=new.n,
        control_value=control.value,
        control_sample=control.n,
        interval=interval,
        breached=breached,
        since=since,
        until=until,
    )


def gates_evaluate(plan: RolloutPlan, *, now: datetime) -> list[GateResult]:
    return [gate_evaluate(plan, gate, now=now) for gate in plan.gates.all()]
