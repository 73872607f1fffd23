"""The always-valid comparison a "compare with control" gate uses (no Django).

Decision: until `experiments.stats.sequential` lands (branch `stats`), gates use this documented
test of their own: a normal-mixture confidence sequence (Robbins' mixture, as in Johari et al.,
"Always valid inference", and Howard et al., 2021) for the difference of two proportions,
treatment minus control. With the plug-in variance V = p_t(1-p_t)/n_t + p_c(1-p_c)/n_c and a
normal mixing distribution of standard deviation tau on the true difference, the interval

    d ± sqrt( V (V + tau²) / tau² · (2 log(1/alpha) + log((V + tau²) / V)) )

covers the true difference at every sample size simultaneously with probability ≥ 1 - alpha, so
a gate may look after every event and still fire falsely at most alpha of the time. It is wider
than the fixed-sample (Wald) interval at every n; the tests check it against statsmodels'.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

DEFAULT_ALPHA = 0.05
DEFAULT_MIXTURE_SD = 0.05  # tau: differences of about 5 points are the ones we tune for


@dataclass(frozen=True)
class Interval:
    difference: float
    lo: float
    hi: float


def _variance(successes: float, n: int) -> float:
    # The plug-in variance, kept off zero when no (or every) event succeeded.
    p = (successes + 0.5) / (n + 1)
    return p * (1 - p) / n


def proportion_difference_cs(
    *,
    treatment_successes: float,
    treatment_n: int,
    control_successes: float,
    control_n: int,
    alpha: float = DEFAULT_ALPHA,
    mixture_sd: float = DEFAULT_MIXTURE_SD,
) -> Interval | None:
    """The always-valid interval of p_treatment - p_control (None without data on a side)."""
    if treatment_n <= 0 or control_n <= 0:
        return None
    d = treatment_successes / treatment_n - control_successes / control_n
    v = _variance(treatment_successes, treatment_n) + _variance(control_successes, control_n)
    tau2 = mixture_sd**2
    half = math.sqrt(v * (v + tau2) / tau2 * (2 * math.log(1 / alpha) + math.log((v + tau2) / v)))
    return Interval(d, d - half, d + half)


def regression(interval: Interval | None, *, lower_is_better: bool = True) -> bool:
    """True when the interval lies entirely on the worse side of zero."""
    if interval is None:
        return False
    return interval.lo > 0 if lower_is_better else interval.hi < 0
