"""Experiment statistics: pure functions over per-variant sufficient statistics.

No Django here: callers fetch counts, sums, sums of squares and cross-products with aggregate SQL
(GROUP BY variant) and hand them in. Methods, formulas and references: docs/experiments.md,
"Statistics". Every test here is two-sided; "lift" is treatment minus control.

- `welch` (means and proportions), `compare_ratio` (delta method), `compare_cuped` (CUPED) and
  `compare_quantile` return a `Comparison`; with `sequential_tuning=N*` (or through
  `sequential`) its intervals and p-values are always valid (an asymptotic confidence sequence,
  Waudby-Smith et al. 2024, as GrowthBook's gbstats uses it).
  `compare` picks the one that fits the input type.
- `quantile_rank_ci`; re-exported here: `srm`, `holm`, `benjamini_hochberg`, `adjust`
  (experiments/stats_checks.py) and the design calculators `power`, `sample_size`, `mde`
  (experiments/stats_power.py).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

# scipy.special's ufuncs, not scipy.stats' distributions: ~100x faster on scalars, which the
# simulations (and a page of many metrics) notice.
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
from experiments.stats_power import mde, power, sample_size

__all__ = [
    "DEFAULT_SEQUENTIAL_TUNING",
    "SRM_THRESHOLD",
    "AnyMoments",
    "Comparison",
    "Correction",
    "CupedMoments",
    "Moments",
    "QuantileEstimate",
    "RatioMoments",
    "SrmResult",
    "adjust",
    "benjamini_hochberg",
    "cohens_h",
    "compare",
    "compare_cuped",
    "compare_quantile",
    "compare_ratio",
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


# --- inputs ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Moments:
    """One arm of a mean or proportion metric (for 0/1 values, sum == sum_sq)."""

    n: int
    sum: float
    sum_sq: float

    @classmethod
    def of(cls, values: Sequence[float]) -> Moments:
        return cls(n=len(values), sum=float(sum(values)), sum_sq=float(sum(v * v for v in values)))

    @classmethod
    def proportion(cls, successes: int, n: int) -> Moments:
        return cls(n=n, sum=float(successes), sum_sq=float(successes))

    @property
    def mean(self) -> float:
        return self.sum / self.n if self.n else 0.0

    @property
    def variance(self) -> float:
        """Sample variance (ddof 1); 0 below two units."""
        return _var(self.n, self.sum, self.sum, self.sum_sq)

    @property
    def variance_binary(self) -> float:
        """p(1 - p) (ddof 0): the unpooled variance of a 0/1 metric, as gbstats uses it."""
        p = self.mean
        return max(p * (1.0 - p), 0.0)


@dataclass(frozen=True)
class RatioMoments:
    """One arm of a ratio metric sum(x) / sum(y): x the per-unit numerator (cost, tokens,
    queries), y the per-unit denominator (queries, sessions)."""

    n: int
    sum_x: float
    sum_x2: float
    sum_y: float
    sum_y2: float
    sum_xy: float

    @property
    def ratio(self) -> float:
        return self.sum_x / self.sum_y if self.sum_y else 0.0

    @property
    def ratio_variance(self) -> float:
        """Delta-method variance of the ratio (Deng et al. 2018):
        (var_x/ȳ² − 2 x̄ cov_xy/ȳ³ + x̄² var_y/ȳ⁴) / n, with unit-level (ddof 1) moments."""
        if self.n < 2 or not self.sum_y:
            return 0.0
        mx, my = self.sum_x / self.n, self.sum_y / self.n
        vx = _var(self.n, self.sum_x, self.sum_x, self.sum_x2)
        vy = _var(self.n, self.sum_y, self.sum_y, self.sum_y2)
        cxy = _var(self.n, self.sum_x, self.sum_y, self.sum_xy)
        v = vx / my**2 - 2 * mx * cxy / my**3 + mx**2 * vy / my**4
        return max(v, 0.0) / self.n


@dataclass(frozen=True)
class CupedMoments:
    """One arm of a mean metric with its pre-period covariate: y the in-experiment value, x the
    same unit's pre-period value (0 where the unit has none: see docs, "CUPED")."""

    n: int
    sum_y: float
    sum_y2: float
    sum_x: float
    sum_x2: float
    sum_xy: float

    @property
    def y(self) -> Moments:
        return Moments(n=self.n, sum=self.sum_y, sum_sq=self.sum_y2)


@dataclass(frozen=True)
class QuantileEstimate:
    """One arm's sample quantile and the values at its order-statistic CI ranks
    (`quantile_rank_ci`), fetched by the caller."""

    n: int
    value: float
    lo: float
    hi: float


# --- results --------------------------------------------------------------------------------
Interval = tuple[float, float]


@dataclass(frozen=True)
class Comparison:
    """Treatment against control for one metric. `p_value` tests abs_lift = 0 (rel_p_value
    rel_lift = 0; they differ slightly, the relative one carrying the control's noise). Fields
    that cannot be computed (a zero control mean, fewer than two units, no variance) are None,
    with `error` saying why; then p_value is 1."""

    control_value: float
    treatment_value: float
    abs_lift: float
    abs_ci: Interval | None
    rel_lift: float | None
    rel_ci: Interval | None
    p_value: float
    effect_size: float | None
    chance_to_beat: float | None
    method: str
    n_control: int
    n_treatment: int
    rel_p_value: float | None = None
    abs_se: float | None = None
    rel_se: float | None = None
    df: float | None = None
    alpha: float = 0.05
    sequential_tuning: float | None = None
    variance_reduction: float | None = None
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready (for snapshots): intervals as lists, no inf or NaN (they become None)."""
        out: dict[str, Any] = {}
        for key, value in self.__dict__.items():
            if isinstance(value, tuple):
                value = [_finite(v) for v in value]
            elif isinstance(value, float):
                value = _finite(value)
            out[key] = value
        return out


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


# --- the common core ------------------------------------------------------------------------
def _var(n: int, sum_a: float, sum_b: float, sum_ab: float) -> float:
    """Sample covariance (ddof 1) of a and b from their sums; the variance when a == b."""
    if n < 2:
        return 0.0
    centred = sum_ab - sum_a * sum_b / n
    # Cancellation leaves tiny negative values for constant data; larger ones mean inconsistent
    # sums (callers report "negative variance").
    if abs(centred) <= 1e-12 * abs(sum_ab):
        return 0.0
    return centred / (n - 1)


def _welch_df(var_c: float, n_c: int, var_t: float, n_t: int) -> float:
    """Welch-Satterthwaite degrees of freedom, from each arm's variance of its estimate."""
    num = (var_c + var_t) ** 2
    den = var_c**2 / (n_c - 1) + var_t**2 / (n_t - 1)
    return num / den if den > 0 else math.inf


def _t_interval(
    est: float, var: float, df: float, alpha: float, tuning: float | None, n: int
) -> tuple[Interval, float]:
    """CI and p-value for `est` with variance `var`: Student's t with `df` (fixed horizon), or
    the asymptotic confidence sequence when `tuning` (N*) is given."""
    se = math.sqrt(var)
    if tuning is None:
        q = float(_special.stdtrit(df, 1 - alpha / 2))
        p = float(2 * _special.stdtr(df, -abs(est) / se))
        return (est - q * se, est + q * se), p
    # Waudby-Smith et al. (2024), eq. 9 with rho from their eq. 161, as gbstats applies it: N is
    # both arms' units and N·var the per-unit variance of the estimate.
    rho2 = (-2 * math.log(alpha) + math.log(-2 * math.log(alpha) + 1)) / tuning
    nr = n * rho2 + 1
    half = se * math.sqrt(2 * nr / (n * rho2) * math.log(math.sqrt(nr) / alpha))
    # The always-valid p-value: the smallest alpha whose sequence excludes 0 (rho kept fixed).
    log_p = math.log(math.sqrt(nr)) - (est / se) ** 2 * n * rho2 / (2 * nr)
    return (est - half, est + half), min(1.0, math.exp(log_p))


def _compare(
    *,
    est_c: float,
    var_c: float,
    n_c: int,
    est_t: float,
    var_t: float,
    n_t: int,
    alpha: float,
    method: str,
    tuning: float | None,
    effect_size: float | None,
    bayesian: bool,
    df: float | None = None,
) -> Comparison:
    """Absolute and relative lift of two independent estimates, each with the variance of the
    estimate (var_c = v_c / n_c for a mean)."""
    abs_lift = est_t - est_c
    out: dict[str, Any] = {
        "control_value": est_c,
        "treatment_value": est_t,
        "abs_lift": abs_lift,
        "abs_ci": None,
        "rel_lift": None,
        "rel_ci": None,
        "p_value": 1.0,
        "effect_size": effect_size,
        "chance_to_beat": None,
        "method": method + (" (sequential)" if tuning is not None else ""),
        "n_control": n_c,
        "n_treatment": n_t,
        "alpha": alpha,
        "sequential_tuning": tuning,
    }
    # One constructor call at the end (dataclasses.replace is slow in the simulations).
    if n_c < 2 or n_t < 2:
        return Comparison(**out, error="fewer than two units in an arm")
    if var_c < 0 or var_t < 0:
        return Comparison(**out, error="negative variance: inconsistent sums")
    var_abs = var_c + var_t
    if not var_abs > 0:
        return Comparison(**out, error="no variance")
    if df is None:
        df = _welch_df(var_c, n_c, var_t, n_t)
    n = n_c + n_t
    out["abs_ci"], out["p_value"] = _t_interval(abs_lift, var_abs, df, alpha, tuning, n)
    out["abs_se"], out["df"] = math.sqrt(var_abs), df if math.isfinite(df) else None
    if est_c == 0:
        if bayesian:
            out["chance_to_beat"] = float(_special.ndtr(abs_lift / out["abs_se"]))
        return Comparison(**out, error="control value is 0: no relative lift")
    # Delta method for est_t/est_c − 1; divided by |control| so the sign follows abs_lift.
    rel = abs_lift / abs(est_c)
    var_rel = var_t / est_c**2 + est_t**2 * var_c / est_c**4
    out["rel_lift"], out["rel_se"] = rel, math.sqrt(var_rel)
    if not var_rel > 0:  # e.g. a treatment with no events at all: rel_lift −1, no interval
        return Comparison(**out, error="no variance of the relative lift")
    out["rel_ci"], out["rel_p_value"] = _t_interval(rel, var_rel, df, alpha, tuning, n)
    if bayesian:
        # Flat prior, Gaussian posterior of the relative lift (gbstats' normal approximation).
        out["chance_to_beat"] = float(_special.ndtr(rel / out["rel_se"]))
    return Comparison(**out)


def _cohens_d(diff: float, var_c: float, var_t: float) -> float | None:
    """Cohen's d with the average-variance SD sqrt((s_c² + s_t²)/2), s with ddof 1."""
    if var_c < 0 or var_t < 0 or var_c + var_t <= 0:
        return None
    return diff / math.sqrt((var_c + var_t) / 2)


def cohens_h(p_control: float, p_treatment: float) -> float:
    """Cohen's h for two proportions: 2·asin(√p_t) − 2·asin(√p_c)."""
    return 2 * math.asin(math.sqrt(p_treatment)) - 2 * math.asin(math.sqrt(p_control))


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
    the average per-unit SD of the linearised ratio (x − R·y)/ȳ."""
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


def cuped_theta(control: CupedMoments, treatment: CupedMoments) -> float:
    """θ = Cov(y, x) / Var(x) on both arms pooled (Deng et al. 2013); 0 without x variance."""
    n = control.n + treatment.n
    sx, sy = control.sum_x + treatment.sum_x, control.sum_y + treatment.sum_y
    vx = _var(n, sx, sx, control.sum_x2 + treatment.sum_x2)
    cxy = _var(n, sx, sy, control.sum_xy + treatment.sum_xy)
    return cxy / vx if vx > 0 else 0.0


def compare_cuped(
    control: CupedMoments,
    treatment: CupedMoments,
    alpha: float = 0.05,
    *,
    sequential_tuning: float | None = None,
    bayesian: bool = True,
) -> Comparison:
    """CUPED: Welch's test on y' = y − θ(x − x̄), θ from the pooled arms, x̄ the pooled
    pre-period mean. `variance_reduction` is 1 − Var(lift')/Var(lift), the share of the
    absolute lift's variance removed (≈ ρ² for a strong covariate). Cohen's d uses the
    unadjusted SDs, so it reads on the metric's own scale."""
    theta = cuped_theta(control, treatment)
    x_bar = (control.sum_x + treatment.sum_x) / max(control.n + treatment.n, 1)

    def arm(m: CupedMoments) -> tuple[float, float]:
        if m.n == 0:
            return 0.0, 0.0
        vy = _var(m.n, m.sum_y, m.sum_y, m.sum_y2)
        vx = _var(m.n, m.sum_x, m.sum_x, m.sum_x2)
        cxy = _var(m.n, m.sum_x, m.sum_y, m.sum_xy)
        mean = m.sum_y / m.n - theta * (m.sum_x / m.n - x_bar)
        return mean, max(vy - 2 * theta * cxy + theta**2 * vx, 0.0) / m.n

    (mc, vc), (mt, vt) = arm(control), arm(treatment)
    raw_c, raw_t = control.y, treatment.y
    result = _compare(
        est_c=mc,
        var_c=vc,
        n_c=control.n,
        est_t=mt,
        var_t=vt,
        n_t=treatment.n,
        alpha=alpha,
        method="cuped-welch",
        tuning=sequential_tuning,
        effect_size=_cohens_d(raw_t.mean - raw_c.mean, raw_c.variance, raw_t.variance),
        bayesian=bayesian,
    )
    raw_var = (raw_c.variance / raw_c.n if raw_c.n else 0.0) + (
        raw_t.variance / raw_t.n if raw_t.n else 0.0
    )
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


AnyMoments = Moments | RatioMoments | CupedMoments


def compare(
    control: AnyMoments,
    treatment: AnyMoments,
    alpha: float = 0.05,
    *,
    sequential_tuning: float | None = None,
    proportion: bool = False,
    bayesian: bool = True,
) -> Comparison:
    """`welch`, `compare_ratio` or `compare_cuped`, chosen by the input type (both arms the
    same kind); fixed horizon unless `sequential_tuning` (N*) is given."""
    kw: dict[str, Any] = {"sequential_tuning": sequential_tuning, "bayesian": bayesian}
    if isinstance(control, Moments) and isinstance(treatment, Moments):
        return welch(control, treatment, alpha, proportion=proportion, **kw)
    if isinstance(control, RatioMoments) and isinstance(treatment, RatioMoments):
        return compare_ratio(control, treatment, alpha, **kw)
    if isinstance(control, CupedMoments) and isinstance(treatment, CupedMoments):
        return compare_cuped(control, treatment, alpha, **kw)
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
    z = float(_special.ndtri(1 - alpha / 2))
    half = z * math.sqrt(n * q * (1 - q))
    lo = math.floor(n * q - half)
    hi = math.ceil(n * q + half)
    return max(1, lo), min(n, max(hi, 1))
