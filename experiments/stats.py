"""Experiment statistics: pure functions over per-variant sufficient statistics.

No Django here: callers fetch counts, sums, sums of squares and cross-products with aggregate SQL
(GROUP BY variant) and hand them in. Methods, formulas and references: docs/experiments.md,
"Statistics". Every test here is two-sided; "lift" is treatment minus control.

- `welch` (means and proportions), `compare_ratio` (delta method), `compare_cuped` (CUPED) and
  `compare_quantile` return a `Comparison`; with `sequential_tuning=N*` (or through
  `sequential`) its intervals and p-values are always valid (an asymptotic confidence sequence,
  Waudby-Smith et al. 2024, as GrowthBook's gbstats uses it).
- `srm`, `holm`, `benjamini_hochberg`, `quantile_rank_ci`, and the design calculators
  `power`, `sample_size`, `mde` (experiments/stats_power.py, re-exported here).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Literal

from scipy import stats as _sp

from experiments.stats_power import mde, power, sample_size

__all__ = [
    "DEFAULT_SEQUENTIAL_TUNING",
    "SRM_THRESHOLD",
    "Comparison",
    "CupedMoments",
    "Moments",
    "QuantileEstimate",
    "RatioMoments",
    "SrmResult",
    "benjamini_hochberg",
    "cohens_h",
    "compare_cuped",
    "compare_quantile",
    "compare_ratio",
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
# Sample ratio mismatch is flagged below this p-value (GrowthBook's and Eppo's default).
SRM_THRESHOLD = 0.001


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


@dataclass(frozen=True)
class SrmResult:
    chi2: float
    p_value: float
    flagged: bool


# --- the common core ------------------------------------------------------------------------
def _var(n: int, sum_a: float, sum_b: float, sum_ab: float) -> float:
    """Sample covariance (ddof 1) of a and b from their sums; the variance when a == b."""
    if n < 2:
        return 0.0
    return (sum_ab - sum_a * sum_b / n) / (n - 1)


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
        q = float(_sp.t.ppf(1 - alpha / 2, df))
        p = float(2 * _sp.t.sf(abs(est) / se, df))
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
    base = Comparison(
        control_value=est_c,
        treatment_value=est_t,
        abs_lift=abs_lift,
        abs_ci=None,
        rel_lift=None,
        rel_ci=None,
        p_value=1.0,
        effect_size=effect_size,
        chance_to_beat=None,
        method=method + (" (sequential)" if tuning is not None else ""),
        n_control=n_c,
        n_treatment=n_t,
        alpha=alpha,
        sequential_tuning=tuning,
    )
    if n_c < 2 or n_t < 2:
        return replace(base, error="fewer than two units in an arm")
    var_abs = var_c + var_t
    if not var_abs > 0:
        return replace(base, error="no variance")
    if df is None:
        df = _welch_df(var_c, n_c, var_t, n_t)
    n = n_c + n_t
    abs_ci, p = _t_interval(abs_lift, var_abs, df, alpha, tuning, n)
    abs_se = math.sqrt(var_abs)
    result = replace(base, abs_ci=abs_ci, p_value=p, abs_se=abs_se, df=df)
    if bayesian:
        result = replace(result, chance_to_beat=float(_sp.norm.cdf(abs_lift / abs_se)))
    if est_c == 0:
        return replace(result, error="control value is 0: no relative lift")
    # Delta method for est_t/est_c − 1; divided by |control| so the sign follows abs_lift.
    rel = abs_lift / abs(est_c)
    var_rel = var_t / est_c**2 + est_t**2 * var_c / est_c**4
    rel_ci, rel_p = _t_interval(rel, var_rel, df, alpha, tuning, n)
    result = replace(
        result, rel_lift=rel, rel_ci=rel_ci, rel_p_value=rel_p, rel_se=math.sqrt(var_rel)
    )
    if bayesian:
        # Flat prior, Gaussian posterior of the relative lift (gbstats' normal approximation).
        result = replace(result, chance_to_beat=float(_sp.norm.cdf(rel / math.sqrt(var_rel))))
    return result


def _cohens_d(diff: float, var_c: float, var_t: float) -> float | None:
    """Cohen's d with the average-variance SD sqrt((s_c² + s_t²)/2), s with ddof 1."""
    sd = math.sqrt((var_c + var_t) / 2)
    return diff / sd if sd > 0 else None


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
    z = float(_sp.norm.ppf(1 - alpha / 2))

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


def sequential(
    control: AnyMoments,
    treatment: AnyMoments,
    alpha: float = 0.05,
    *,
    tuning: float = DEFAULT_SEQUENTIAL_TUNING,
    proportion: bool = False,
    bayesian: bool = True,
) -> Comparison:
    """The always-valid version of `welch`, `compare_ratio` or `compare_cuped` (chosen by the
    input type): an asymptotic confidence sequence with tuning N* = `tuning` (total units)."""
    if isinstance(control, Moments) and isinstance(treatment, Moments):
        return welch(
            control,
            treatment,
            alpha,
            proportion=proportion,
            sequential_tuning=tuning,
            bayesian=bayesian,
        )
    if isinstance(control, RatioMoments) and isinstance(treatment, RatioMoments):
        return compare_ratio(control, treatment, alpha, sequential_tuning=tuning, bayesian=bayesian)
    if isinstance(control, CupedMoments) and isinstance(treatment, CupedMoments):
        return compare_cuped(control, treatment, alpha, sequential_tuning=tuning, bayesian=bayesian)
    raise TypeError("control and treatment must be the same kind of moments")


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
    return z, float(2 * _sp.norm.sf(abs(z)))


# --- sample ratio mismatch, multiple comparisons, quantile ranks -------------------------------
def srm(observed: Sequence[int], expected_shares: Sequence[float]) -> SrmResult:
    """Chi-square goodness of fit of the units per arm against the configured allocation;
    flagged at p < 0.001."""
    if len(observed) != len(expected_shares) or len(observed) < 2:
        raise ValueError("observed and expected_shares need the same length, at least 2")
    total, share_sum = sum(observed), sum(expected_shares)
    if total == 0:
        return SrmResult(chi2=0.0, p_value=1.0, flagged=False)
    expected = [total * s / share_sum for s in expected_shares]
    chi2 = sum((o - e) ** 2 / e for o, e in zip(observed, expected, strict=True))
    p = float(_sp.chi2.sf(chi2, len(observed) - 1))
    return SrmResult(chi2=chi2, p_value=p, flagged=p < SRM_THRESHOLD)


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm (1979) step-down adjusted p-values, in the input order (family-wise error)."""
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    adjusted = [0.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[i]))
        adjusted[i] = running
    return adjusted


def benjamini_hochberg(p_values: Sequence[float]) -> list[float]:
    """Benjamini-Hochberg (1995) step-up adjusted p-values (q-values), in the input order
    (false discovery rate)."""
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i], reverse=True)
    adjusted = [0.0] * m
    running = 1.0
    for k, i in enumerate(order):
        rank = m - k  # 1-based rank in ascending order
        running = min(running, m * p_values[i] / rank)
        adjusted[i] = min(1.0, running)
    return adjusted


def quantile_rank_ci(n: int, q: float, alpha: float = 0.05) -> tuple[int, int]:
    """1-based ranks (lo, hi) of the order statistics bounding a (1 − alpha) CI of the
    q-quantile of n values: n·q ∓ z·sqrt(n·q·(1 − q)), rounded outward, kept within 1..n.
    Callers read the values at those ranks (ORDER BY value OFFSET rank − 1)."""
    if n < 1:
        raise ValueError("n must be at least 1")
    z = float(_sp.norm.ppf(1 - alpha / 2))
    half = z * math.sqrt(n * q * (1 - q))
    lo = math.floor(n * q - half)
    hi = math.ceil(n * q + half)
    return max(1, lo), min(n, max(hi, 1))


Correction = Literal["holm", "bh"]


def adjust(p_values: Sequence[float], method: Correction = "holm") -> list[float]:
    """Holm (the default) or Benjamini-Hochberg, by name."""
    return holm(p_values) if method == "holm" else benjamini_hochberg(p_values)
