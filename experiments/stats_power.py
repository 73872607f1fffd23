"""Power, sample size and minimum detectable effect of a two-sided two-sample test.

Re-exported by `experiments.stats`. The same definitions as statsmodels' `TTestIndPower`
(`test="t"`: noncentral t with n_c + n_t − 2 df) and `NormalIndPower` (`test="z"`), both tails
counted, so the numbers agree with statsmodels to solver precision (tests/experiments).
Effects are in the metric's units, divided by `sd` (the metric's observed SD; for a
proportion p, sqrt(p(1 − p))); the default sd=1 means a standardised effect (Cohen's d).
The treatment arm has `ratio` times the control arm's units.
"""

from __future__ import annotations

import math
from typing import Literal

from scipy import optimize as _opt
from scipy import special as _special
from scipy import stats as _sp

Test = Literal["t", "z"]


def power(
    *,
    n_per_arm: float,
    effect: float,
    sd: float = 1.0,
    alpha: float = 0.05,
    ratio: float = 1.0,
    test: Test = "t",
) -> float:
    """Probability of a significant result with `n_per_arm` control units (treatment:
    ratio·n) when the true absolute effect is `effect`."""
    d = abs(effect) / sd
    n_eff = 1.0 / (1.0 / n_per_arm + 1.0 / (n_per_arm * ratio))
    nc = d * math.sqrt(n_eff)
    if test == "z":
        crit = float(_sp.norm.isf(alpha / 2))
        return float(_sp.norm.sf(crit - nc) + _sp.norm.cdf(-crit - nc))
    df = n_per_arm + n_per_arm * ratio - 2
    crit = float(_sp.t.isf(alpha / 2, df))
    # special.nctdtr, as statsmodels uses it: scipy.stats.nct returns NaN far in the tails.
    upper = 1.0 - float(_special.nctdtr(df, nc, crit))
    lower = float(_special.nctdtr(df, nc, -crit))
    return upper + (lower if math.isfinite(lower) else 0.0)


def sample_size(
    *,
    effect: float,
    sd: float = 1.0,
    alpha: float = 0.05,
    power: float = 0.8,
    ratio: float = 1.0,
    test: Test = "t",
) -> float:
    """Control-arm units needed to detect the absolute `effect` with the given power (a float:
    round up). Normal approximation 2·(z_{1−α/2} + z_{1−β})²·σ²/δ² for equal arms."""
    if effect == 0:
        raise ValueError("effect must be non-zero")
    target = power

    def gap(n: float) -> float:
        return _power(n, effect, sd, alpha, ratio, test) - target

    z = float(_sp.norm.isf(alpha / 2) + _sp.norm.isf(1 - power))
    guess = (1 + 1 / ratio) * (z * sd / effect) ** 2
    lo, hi = 2.0 + 1e-9, max(4.0, 2 * guess + 10)
    if gap(lo) >= 0:
        return lo
    while gap(hi) < 0:
        hi *= 2
    return float(_opt.brentq(gap, lo, hi, xtol=1e-10, rtol=1e-14))


def mde(
    *,
    n_per_arm: float,
    sd: float = 1.0,
    alpha: float = 0.05,
    power: float = 0.8,
    ratio: float = 1.0,
    test: Test = "t",
) -> float:
    """Smallest absolute effect detected with the given power at `n_per_arm` control units."""
    target = power

    def gap(effect: float) -> float:
        return _power(n_per_arm, effect, sd, alpha, ratio, test) - target

    hi = sd
    while gap(hi) < 0:
        hi *= 2
    return float(_opt.brentq(gap, 0.0, hi, xtol=1e-12 * sd, rtol=1e-14))


def _power(n: float, effect: float, sd: float, alpha: float, ratio: float, test: Test) -> float:
    return power(n_per_arm=n, effect=effect, sd=sd, alpha=alpha, ratio=ratio, test=test)
