"""The inputs of experiments/stats.py: one arm's sufficient statistics per metric kind.

Re-exported by `experiments.stats`. No Django: callers fill these from aggregate SQL.
Variances and covariances have ddof 1 unless a docstring says otherwise; products are written
as multiplications, never `**`, so extreme values overflow to infinity (which the comparisons
report) instead of raising.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


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


def _var_binary(n: int, sum_a: float, sum_b: float, sum_ab: float) -> float:
    """Covariance with ddof 0 (mean of products minus product of means): gbstats' choice for
    0/1 values, matching `Moments.variance_binary`'s p(1 − p)."""
    if n < 1:
        return 0.0
    return sum_ab / n - (sum_a / n) * (sum_b / n)


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
        """sum(x) / sum(y); 0 without a denominator (`compare_ratio` then reports no result)."""
        return self.sum_x / self.sum_y if self.sum_y else 0.0

    @property
    def ratio_variance(self) -> float:
        """Delta-method variance of the ratio (Deng et al. 2018):
        (var_x/ȳ² − 2 x̄ cov_xy/ȳ³ + x̄² var_y/ȳ⁴) / n, with unit-level (ddof 1) moments.
        Written with r = x̄/ȳ as (var_x − 2r·cov_xy + r²·var_y) / (ȳ²·n), which is the same."""
        if self.n < 2 or not self.sum_y:
            return 0.0
        my = self.sum_y / self.n
        r = self.sum_x / self.sum_y
        vx = _var(self.n, self.sum_x, self.sum_x, self.sum_x2)
        vy = _var(self.n, self.sum_y, self.sum_y, self.sum_y2)
        cxy = _var(self.n, self.sum_x, self.sum_y, self.sum_xy)
        den = my * my * self.n
        if den == 0:  # a denominator mean so small its square underflows
            return math.inf
        return max(vx - 2 * r * cxy + r * r * vy, 0.0) / den


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
class CupedRatioMoments:
    """One arm of a ratio metric with its pre-period covariate, the same ratio before the
    experiment: per unit the in-experiment numerator and denominator (`post`: x, y) and the
    pre-period ones (`pre`: x, y; 0 where the unit has none), with the four cross-products
    between the periods (`post` and `pre` hold each period's own). Both have the arm's n."""

    post: RatioMoments
    pre: RatioMoments
    sum_x_prex: float  # post numerator x pre numerator
    sum_x_prey: float  # post numerator x pre denominator
    sum_y_prex: float  # post denominator x pre numerator
    sum_y_prey: float  # post denominator x pre denominator

    @property
    def n(self) -> int:
        return self.post.n

    def covariance(self) -> list[list[float]]:
        """The 4 x 4 unit-level covariance matrix (ddof 1) of (x, y, pre x, pre y)."""
        post, pre = self.post, self.pre
        sums = (post.sum_x, post.sum_y, pre.sum_x, pre.sum_y)
        products = {
            (0, 0): post.sum_x2,
            (0, 1): post.sum_xy,
            (0, 2): self.sum_x_prex,
            (0, 3): self.sum_x_prey,
            (1, 1): post.sum_y2,
            (1, 2): self.sum_y_prex,
            (1, 3): self.sum_y_prey,
            (2, 2): pre.sum_x2,
            (2, 3): pre.sum_xy,
            (3, 3): pre.sum_y2,
        }
        return [
            [_var(self.n, sums[i], sums[j], products[(min(i, j), max(i, j))]) for j in range(4)]
            for i in range(4)
        ]


@dataclass(frozen=True)
class QuantileEstimate:
    """One arm's sample quantile and the values at its order-statistic CI ranks
    (`quantile_rank_ci`), fetched by the caller."""

    n: int
    value: float
    lo: float
    hi: float
