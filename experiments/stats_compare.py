"""The common core of experiments/stats.py: `Comparison` (one treatment against control) and
the arithmetic every comparison shares (`_compare`: absolute and relative lift, their
intervals and p-values, fixed horizon or sequential).

Re-exported by `experiments.stats`. Never raises on numbers: degenerate inputs (an arm below
two units, no variance, a control value of 0, values so large they overflow) give a
`Comparison` with the intervals that cannot be computed set to None and `error` saying why
(docs/experiments.md, "Statistics", "Degenerate inputs").
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

# scipy.special's ufuncs, not scipy.stats' distributions: ~100x faster on scalars, which the
# simulations (and a page of many metrics) notice.
from scipy import special as _special

Interval = tuple[float, float]

# The reasons a Comparison carries (shown on the results page next to the p-value).
TOO_FEW_UNITS = "fewer than two units in an arm"
NOT_FINITE = "values too large to compare (overflow)"
NEGATIVE_VARIANCE = "negative variance: inconsistent sums"
NO_VARIANCE = "no variance: every unit has the same value, so no interval or p-value"
CONTROL_ZERO = "control value is 0: no relative lift"
NO_RELATIVE_VARIANCE = "no variance of the relative lift"
NO_DENOMINATOR = "no denominator in an arm: its ratio is undefined"


@dataclass(frozen=True)
class Comparison:
    """Treatment against control for one metric. `p_value` tests abs_lift = 0 (rel_p_value
    rel_lift = 0; they differ slightly, the relative one carrying the control's noise). Fields
    that cannot be computed (a zero control mean, fewer than two units, no variance) are None,
    with `error` saying why; p_value is 1 when the absolute lift itself cannot be tested. The
    point estimates are kept wherever they are defined (a relative lift without variance has
    no interval but is still the lift)."""

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


def no_denominator(
    *,
    values: tuple[float, float],
    n: tuple[int, int],
    alpha: float,
    method: str,
    tuning: float | None,
) -> Comparison:
    """The result of a ratio comparison with an arm whose denominator sums to 0: its ratio is
    undefined (reported as 0, gbstats' `cr`), nothing is tested (p 1, no interval)."""
    return Comparison(
        control_value=values[0],
        treatment_value=values[1],
        abs_lift=math.nan,
        abs_ci=None,
        rel_lift=None,
        rel_ci=None,
        p_value=1.0,
        effect_size=None,
        chance_to_beat=None,
        method=method + (" (sequential)" if tuning is not None else ""),
        n_control=n[0],
        n_treatment=n[1],
        alpha=alpha,
        sequential_tuning=tuning,
        error=NO_DENOMINATOR,
    )


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _welch_df(var_c: float, n_c: int, var_t: float, n_t: int) -> float:
    """Welch-Satterthwaite degrees of freedom, from each arm's variance of its estimate
    (computed on the shares of the total so large variances cannot overflow)."""
    total = var_c + var_t
    if not total > 0:
        return math.inf
    a, b = var_c / total, var_t / total
    den = a * a / (n_c - 1) + b * b / (n_t - 1)
    return 1 / den if den > 0 else math.inf


def _t_interval(
    est: float, var: float, df: float, alpha: float, tuning: float | None, n: int
) -> tuple[Interval, float]:
    """CI and p-value for `est` with variance `var` (> 0): Student's t with `df` (fixed
    horizon), or the asymptotic confidence sequence when `tuning` (N*) is given."""
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
    z = est / se
    log_p = math.log(math.sqrt(nr)) - z * z * n * rho2 / (2 * nr)
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
    values: tuple[float, float] | None = None,
    var_rel: float | None = None,
) -> Comparison:
    """Absolute and relative lift of two independent estimates, each with the variance of the
    estimate (var_c = v_c / n_c for a mean). `values` (control, treatment), when the estimates
    are adjusted ones (CUPED), are the arms' own values: reported, and the relative lift's
    base. `var_rel`, when given, is the relative lift's variance (CUPED's, whose base is
    correlated with the adjusted control estimate); otherwise the delta method's for
    est_t/est_c − 1 with independent arms."""
    abs_lift = est_t - est_c
    base_c, base_t = values if values is not None else (est_c, est_t)
    out: dict[str, Any] = {
        "control_value": base_c,
        "treatment_value": base_t,
        "abs_lift": abs_lift,
        "abs_ci": None,
        "rel_lift": None,
        "rel_ci": None,
        "p_value": 1.0,
        "effect_size": effect_size if effect_size is None or math.isfinite(effect_size) else None,
        "chance_to_beat": None,
        "method": method + (" (sequential)" if tuning is not None else ""),
        "n_control": n_c,
        "n_treatment": n_t,
        "alpha": alpha,
        "sequential_tuning": tuning,
    }
    # One constructor call at the end (dataclasses.replace is slow in the simulations).
    if n_c < 2 or n_t < 2:
        return Comparison(**out, error=TOO_FEW_UNITS)
    if not all(map(math.isfinite, (abs_lift, base_c, base_t, var_c, var_t))):
        return Comparison(**out, error=NOT_FINITE)
    if var_c < 0 or var_t < 0:
        return Comparison(**out, error=NEGATIVE_VARIANCE)
    # Divided by |control| so the sign follows abs_lift (gbstats, for negative control means).
    rel = abs_lift / abs(base_c) if base_c != 0 else None
    if rel is not None and math.isfinite(rel):
        out["rel_lift"] = rel
    var_abs = var_c + var_t
    if not var_abs > 0:
        return Comparison(**out, error=NO_VARIANCE)
    if df is None:
        df = _welch_df(var_c, n_c, var_t, n_t)
    n = n_c + n_t
    out["abs_ci"], out["p_value"] = _t_interval(abs_lift, var_abs, df, alpha, tuning, n)
    out["abs_se"], out["df"] = math.sqrt(var_abs), df if math.isfinite(df) else None
    if out["rel_lift"] is None:
        if bayesian:
            out["chance_to_beat"] = float(_special.ndtr(abs_lift / out["abs_se"]))
        return Comparison(**out, error=CONTROL_ZERO if base_c == 0 else NOT_FINITE)
    if var_rel is None:
        # Delta method: (var_t + (m_t/m_c)²·var_c) / m_c², written without powers that could
        # overflow or underflow to a zero divisor.
        k = base_t / base_c
        scale = base_c * base_c
        var_rel = (var_t + var_c * k * k) / scale if scale > 0 else math.inf
    if not math.isfinite(var_rel):
        return Comparison(**out, error=NOT_FINITE)
    out["rel_se"] = math.sqrt(max(var_rel, 0.0))
    if not var_rel > 0:  # e.g. a treatment with no events at all: rel_lift −1, no interval
        return Comparison(**out, error=NO_RELATIVE_VARIANCE)
    out["rel_ci"], out["rel_p_value"] = _t_interval(out["rel_lift"], var_rel, df, alpha, tuning, n)
    if bayesian:
        # Flat prior, Gaussian posterior of the relative lift (gbstats' normal approximation).
        out["chance_to_beat"] = float(_special.ndtr(out["rel_lift"] / out["rel_se"]))
    return Comparison(**out)


def _cohens_d(diff: float, var_c: float, var_t: float) -> float | None:
    """Cohen's d with the average-variance SD sqrt((s_c² + s_t²)/2), s with ddof 1."""
    if var_c < 0 or var_t < 0:
        return None
    sd = math.sqrt((var_c + var_t) / 2)
    return diff / sd if sd > 0 and math.isfinite(sd) else None


def cohens_h(p_control: float, p_treatment: float) -> float | None:
    """Cohen's h for two proportions: 2·asin(√p_t) − 2·asin(√p_c); None outside [0, 1]."""
    if not (0 <= p_control <= 1 and 0 <= p_treatment <= 1):
        return None
    return 2 * math.asin(math.sqrt(p_treatment)) - 2 * math.asin(math.sqrt(p_control))
