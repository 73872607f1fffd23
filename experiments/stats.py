"""Experiment statistics: pure functions over per-variant sufficient statistics.

No Django here: callers fetch counts, sums, sums of squares and cross-products with aggregate SQL
(GROUP BY variant) and hand them in. Methods, formulas and references: docs/experiments.md,
"Statistics". Every test here is two-sided; "lift" is treatment minus control.

- `welch` (means and proportions), `compare_ratio` (delta method), `compare_cuped` (CUPED),
  `compare_cuped_ratio` (CUPED on ratio metrics, experiments/stats_cuped_ratio.py) and
  `compare_quantile` return a `Comparison`; with `sequential_tuning=N*` (or through
  `sequential`) its intervals and p-values are always valid (an asymptotic confidence sequence,
  Waudby-Smith et al. 2024, as GrowthBook's gbstats uses it).
  `compare` picks the one that fits the input type.
- `quantile_rank_ci`; re-exported here: the inputs (experiments/stats_moments.py), `Comparison`
  and its shared arithmetic (experiments/stats_compare.py), `srm`, `holm`,
  `benjamini_hochberg`, `adjust` (experiments/stats_checks.py) and the design calculators
  `power`, `sample_size`, `mde` (experiments/stats_power.py). Nothing here raises on
  numbers: degenerate inputs give a Comparison whose `error` says why.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from scipy import special as _special

from experiments.stats_checks import (
    SRM_THRESHOLD,
    Correction,
    SrmResult,
    adjust,
    benjamini_hochberg,
    holm,
    srm,
)
from experiments.stats_compare import (
    Comparison,
    Interval,
    _cohens_d,
    _compare,
    cohens_h,
    no_denominator,
)
from experiments.stats_cuped_ratio import (
    compare_cuped_ratio,
    cuped_ratio_theta,
    cuped_ratio_usable,
)
from experiments.stats_moments import (
    CupedMoments,
    CupedRatioMoments,
    Moments,
    QuantileEstimate,
    RatioMoments,
    _var,
    _var_binary,
)
from experiments.stats_power import mde, power, sample_size

__all__ = [
    "DEFAULT_SEQUENTIAL_TUNING",
    "SRM_THRESHOLD",
    "AnyMoments",
    "Comparison",
    "Correction",
    "CupedMoments",
    "CupedRatioMoments",
    "Interval",
    "Moments",
    "QuantileEstimate",
    "RatioMoments",
    "SrmResult",
    "adjust",
    "benjamini_hochberg",
    "cohens_h",
    "compare",
    "compare_cuped",
    "compare_cuped_ratio",
    "compare_quantile",
    "compare_ratio",
    "cuped_ratio_theta",
    "cuped_ratio_usable",
    "cuped_theta",
    "holm",
    "mde",
    "power",
    "quantile_rank_ci",
    "sample_size",
    "sequential",
    "srm",
    "two_proportion_z",
    "welch",
]

# N*: the total sample size (both arms) at which the confidence sequence is tightest. GrowthBook's
# default; docs/experiments.md explains the choice.
DEFAULT_SEQUENTIAL_TUNING = 5000.0


# --- the public comparisons -----------------------------------------------------------------
def welch(
    control: Moments,
    treatment: Moments,
    alpha: float = 0.05,
    *,
    proportion: bool = False,
    sequential_tuning: float | None = None,
    bayesian: bool = True,
) -> Comparison:
    """Welch's t-test (Welch-Satterthwaite df) of the means, with absolute and relative lift.

    `proportion=True` treats the values as 0/1: each arm's variance is p(1 − p) (ddof 0,
    gbstats' choice) and the effect size is Cohen's h; otherwise the variance has ddof 1 and the
    effect size is Cohen's d."""
    if proportion:
        var_c, var_t = control.variance_binary, treatment.variance_binary
        effect: float | None = cohens_h(control.mean, treatment.mean)
    else:
        var_c, var_t = control.variance, treatment.variance
        effect = _cohens_d(treatment.mean - control.mean, var_c, var_t)
    return _compare(
        est_c=control.mean,
        var_c=var_c / control.n if control.n else 0.0,
        n_c=control.n,
        est_t=treatment.mean,
        var_t=var_t / treatment.n if treatment.n else 0.0,
        n_t=treatment.n,
        alpha=alpha,
        method="welch-proportion" if proportion else "welch",
        tuning=sequential_tuning,
        effect_size=effect,
        bayesian=bayesian,
    )


def compare_ratio(
    control: RatioMoments,
    treatment: RatioMoments,
    alpha: float = 0.05,
    *,
    sequential_tuning: float | None = None,
    bayesian: bool = True,
) -> Comparison:
    """Ratio metric sum(x)/sum(y) per arm, variance by the delta method with the x-y covariance;
    the df is Welch-Satterthwaite's over the two ratio variances. Effect size: the lift over
    the average per-unit SD of the linearised ratio (x − R·y)/ȳ. An arm without denominator
    (sum(y) = 0) has no ratio: no lift, p 1 and `error` say so (gbstats' default output)."""
    if min(control.n, treatment.n) >= 2 and not (control.sum_y and treatment.sum_y):
        return no_denominator(
            values=(control.ratio, treatment.ratio),  # 0 where undefined, as gbstats' `cr`
            n=(control.n, treatment.n),
            alpha=alpha,
            method="delta-ratio",
            tuning=sequential_tuning,
        )
    var_c, var_t = control.ratio_variance, treatment.ratio_variance
    diff = treatment.ratio - control.ratio
    return _compare(
        est_c=control.ratio,
        var_c=var_c,
        n_c=control.n,
        est_t=treatment.ratio,
        var_t=var_t,
        n_t=treatment.n,
        alpha=alpha,
        method="delta-ratio",
        tuning=sequential_tuning,
        effect_size=_cohens_d(diff, var_c * control.n, var_t * treatment.n),
        bayesian=bayesian,
    )


def _cuped_cov(proportion: bool) -> Callable[[int, float, float, float], float]:
    """The (co)variance CUPED uses: ddof 0 for 0/1 values (as `welch(proportion=True)` and
    gbstats' ProportionStatistic), ddof 1 otherwise."""
    return _var_binary if proportion else _var


def cuped_theta(
    control: CupedMoments, treatment: CupedMoments, *, proportion: bool = False
) -> float:
    """θ = Cov(y, x) / Var(x) on both arms pooled (Deng et al. 2013); 0 without x variance."""
    cov = _cuped_cov(proportion)
    n = control.n + treatment.n
    sx, sy = control.sum_x + treatment.sum_x, control.sum_y + treatment.sum_y
    vx = cov(n, sx, sx, control.sum_x2 + treatment.sum_x2)
    cxy = cov(n, sx, sy, control.sum_xy + treatment.sum_xy)
    return cxy / vx if vx > 0 else 0.0


def compare_cuped(
    control: CupedMoments,
    treatment: CupedMoments,
    alpha: float = 0.05,
    *,
    sequential_tuning: float | None = None,
    bayesian: bool = True,
    theta: float | None = None,
    proportion: bool = False,
) -> Comparison:
    """CUPED: Welch's test on y' = y − θ(x − x̄), θ from the pooled arms (or given), x̄ the
    pooled pre-period mean. The arms' values are their raw means and the relative lift is the
    adjusted lift over the raw control mean (as gbstats); its variance is the delta method's
    for that quotient, whose numerator and denominator share the control's y (gbstats'
    `frequentist_variance_relative_cuped`). `variance_reduction` is 1 − Var(lift')/Var(lift),
    the share of the absolute lift's variance removed (≈ ρ²). The effect size (Cohen's d, or
    h for proportions) uses the unadjusted values, so it reads on the metric's own scale.
    `proportion=True`: 0/1 values, (co)variances with ddof 0 as in `welch`."""
    cov = _cuped_cov(proportion)
    if theta is None:
        theta = cuped_theta(control, treatment, proportion=proportion)
    x_bar = (control.sum_x + treatment.sum_x) / max(control.n + treatment.n, 1)

    def arm(m: CupedMoments) -> tuple[float, float, float, float, float]:
        """(adjusted mean, variance of it, var y, var x, cov xy) per unit."""
        if m.n == 0:
            return 0.0, 0.0, 0.0, 0.0, 0.0
        vy = cov(m.n, m.sum_y, m.sum_y, m.sum_y2)
        vx = cov(m.n, m.sum_x, m.sum_x, m.sum_x2)
        cxy = cov(m.n, m.sum_x, m.sum_y, m.sum_xy)
        mean = m.sum_y / m.n - theta * (m.sum_x / m.n - x_bar)
        return mean, max(vy - 2 * theta * cxy + theta * theta * vx, 0.0) / m.n, vy, vx, cxy

    (mc, vc, vyc, vxc, cxyc), (mt, vt, *_) = arm(control), arm(treatment)
    raw_c, raw_t = control.y, treatment.y
    var_rel = None
    if raw_c.mean != 0 and control.n:
        k = raw_t.mean / raw_c.mean
        v_ctrl = (vyc * k * k - 2 * theta * cxyc * k + theta * theta * vxc) / control.n
        var_rel = (vt + v_ctrl) / (raw_c.mean * raw_c.mean) if raw_c.mean * raw_c.mean else None
    if proportion:
        raw_vc, raw_vt = raw_c.variance_binary, raw_t.variance_binary
        effect = cohens_h(raw_c.mean, raw_t.mean)
    else:
        raw_vc, raw_vt = raw_c.variance, raw_t.variance
        effect = _cohens_d(raw_t.mean - raw_c.mean, raw_vc, raw_vt)
    result = _compare(
        est_c=mc,
        var_c=vc,
        n_c=control.n,
        est_t=mt,
        var_t=vt,
        n_t=treatment.n,
        alpha=alpha,
        method="cuped-welch-proportion" if proportion else "cuped-welch",
        tuning=sequential_tuning,
        effect_size=effect,
        bayesian=bayesian,
        values=(raw_c.mean, raw_t.mean),
        var_rel=var_rel,
    )
    raw_var = (raw_vc / raw_c.n if raw_c.n else 0.0) + (raw_vt / raw_t.n if raw_t.n else 0.0)
    reduction = 1 - (vc + vt) / raw_var if raw_var > 0 else 0.0
    return replace(result, variance_reduction=reduction)


def compare_quantile(
    control: QuantileEstimate,
    treatment: QuantileEstimate,
    alpha: float = 0.05,
    *,
    sequential_tuning: float | None = None,
    bayesian: bool = True,
) -> Comparison:
    """Difference of two quantiles (e.g. P95 latency). Each arm's standard error is read off
    its order-statistic CI, (hi − lo) / (2·z), which needs no density estimate; the lift is
    then tested as a normal difference (df = ∞). Use the same alpha for the rank CIs."""
    z = float(_special.ndtri(1 - alpha / 2))

    def var(m: QuantileEstimate) -> float:
        return ((m.hi - m.lo) / (2 * z)) ** 2

    return _compare(
        est_c=control.value,
        var_c=var(control),
        n_c=control.n,
        est_t=treatment.value,
        var_t=var(treatment),
        n_t=treatment.n,
        alpha=alpha,
        method="quantile-order-statistic",
        tuning=sequential_tuning,
        effect_size=None,
        bayesian=bayesian,
        df=math.inf,
    )


AnyMoments = Moments | RatioMoments | CupedMoments | CupedRatioMoments


def compare(
    control: AnyMoments,
    treatment: AnyMoments,
    alpha: float = 0.05,
    *,
    sequential_tuning: float | None = None,
    proportion: bool = False,
    bayesian: bool = True,
) -> Comparison:
    """`welch`, `compare_ratio`, `compare_cuped` or `compare_cuped_ratio`, chosen by the input
    type (both arms the same kind); fixed horizon unless `sequential_tuning` (N*) is given."""
    kw: dict[str, Any] = {"sequential_tuning": sequential_tuning, "bayesian": bayesian}
    if isinstance(control, Moments) and isinstance(treatment, Moments):
        return welch(control, treatment, alpha, proportion=proportion, **kw)
    if isinstance(control, RatioMoments) and isinstance(treatment, RatioMoments):
        return compare_ratio(control, treatment, alpha, **kw)
    if isinstance(control, CupedMoments) and isinstance(treatment, CupedMoments):
        return compare_cuped(control, treatment, alpha, proportion=proportion, **kw)
    if isinstance(control, CupedRatioMoments) and isinstance(treatment, CupedRatioMoments):
        return compare_cuped_ratio(control, treatment, alpha, **kw)
    raise TypeError("control and treatment must be the same kind of moments")


def sequential(
    control: AnyMoments,
    treatment: AnyMoments,
    alpha: float = 0.05,
    *,
    tuning: float = DEFAULT_SEQUENTIAL_TUNING,
    proportion: bool = False,
    bayesian: bool = True,
) -> Comparison:
    """The always-valid `compare`: an asymptotic confidence sequence tightest at N* = `tuning`
    total units (docs/experiments.md, "Sequential testing")."""
    return compare(
        control,
        treatment,
        alpha,
        sequential_tuning=tuning,
        proportion=proportion,
        bayesian=bayesian,
    )


def two_proportion_z(
    control: Moments, treatment: Moments, *, pooled: bool = True
) -> tuple[float, float]:
    """(z, two-sided p) of the two-proportion z-test of treatment − control, with the pooled
    variance (statsmodels' proportions_ztest) or unpooled (its test_proportions_2indep, wald)."""
    pc, pt = control.mean, treatment.mean
    if pooled:
        p = (control.sum + treatment.sum) / (control.n + treatment.n)
        var = p * (1 - p) * (1 / control.n + 1 / treatment.n)
    else:
        var = pc * (1 - pc) / control.n + pt * (1 - pt) / treatment.n
    if not var > 0:
        return 0.0, 1.0
    z = (pt - pc) / math.sqrt(var)
    return z, float(2 * _special.ndtr(-abs(z)))


# --- quantile ranks ----------------------------------------------------------------------
def quantile_rank_ci(n: int, q: float, alpha: float = 0.05) -> tuple[int, int]:
    """1-based ranks (lo, hi) of the order statistics bounding a (1 − alpha) CI of the
    q-quantile of n values: n·q ∓ z·sqrt(n·q·(1 − q)), rounded outward, kept within 1..n.
    Callers read the values at those ranks (ORDER BY value OFFSET rank − 1)."""
    if n < 1:
        raise ValueError("n must be at least 1")
    if not 0 <= q <= 1:
        raise ValueError("q must be between 0 and 1")
    z = float(_special.ndtri(1 - alpha / 2))
    half = z * math.sqrt(n * q * (1 - q))
    lo = math.floor(n * q - half)
    hi = math.ceil(n * q + half)
    return max(1, lo), min(n, max(hi, 1))
