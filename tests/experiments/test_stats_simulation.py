"""A/A simulations (seeded numpy): the fixed-horizon test's false-positive rate is alpha within
3 simulation standard errors; under a look after every batch the sequential test stays at or
below alpha while naive peeking of the fixed test exceeds it. Sized to run in a few seconds."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from experiments.stats import (
    CupedMoments,
    Moments,
    RatioMoments,
    compare_cuped,
    compare_ratio,
    sequential,
    welch,
)

ALPHA = 0.05


def _within_3_se(rate: float, runs: int) -> bool:
    se = math.sqrt(ALPHA * (1 - ALPHA) / runs)
    return abs(rate - ALPHA) <= 3 * se


def _cumulative_moments(rng: np.random.Generator, runs: int, looks: int, batch: int) -> Any:
    """Per run and look, one arm's (n, sum, sum of squares) after that many batches of a
    skewed metric (exponential, like a latency)."""
    values = rng.exponential(1.0, size=(runs, looks, batch))
    sums = np.cumsum(values.sum(axis=2), axis=1)
    sums_sq = np.cumsum((values * values).sum(axis=2), axis=1)
    return sums, sums_sq


def test_aa_fixed_is_calibrated_sequential_survives_peeking_and_naive_peeking_does_not() -> None:
    runs, peek_runs, looks, batch = 3000, 800, 20, 50
    rng = np.random.default_rng(20261201)
    c_sum, c_sq = _cumulative_moments(rng, runs, looks, batch)
    t_sum, t_sq = _cumulative_moments(rng, runs, looks, batch)

    def arms(run: int, look: int) -> tuple[Moments, Moments]:
        n = (look + 1) * batch
        return (
            Moments(n, float(c_sum[run, look]), float(c_sq[run, look])),
            Moments(n, float(t_sum[run, look]), float(t_sq[run, look])),
        )

    # 1. Fixed horizon, one look at the planned sample size.
    fixed = [welch(*arms(r, looks - 1), bayesian=False) for r in range(runs)]
    fixed_rate = sum(c.p_value < ALPHA for c in fixed) / runs
    assert _within_3_se(fixed_rate, runs), fixed_rate

    # 2. and 3. A look after every batch; a run is a false positive if any look rejects.
    def any_look_rejects(run: int, *, always_valid: bool) -> bool:
        for look in range(looks):
            c, t = arms(run, look)
            result = sequential(c, t, bayesian=False) if always_valid else welch(c, t)
            if result.p_value < ALPHA:
                return True
        return False

    naive_rate = sum(any_look_rejects(r, always_valid=False) for r in range(peek_runs)) / peek_runs
    seq_rate = sum(any_look_rejects(r, always_valid=True) for r in range(peek_runs)) / peek_runs
    assert seq_rate <= ALPHA, seq_rate
    peek_se = math.sqrt(ALPHA * (1 - ALPHA) / peek_runs)
    assert naive_rate > ALPHA + 3 * peek_se, naive_rate


def test_aa_relative_lift_delta_method_is_calibrated() -> None:
    # The relative test (delta method) on a skewed metric, one look; more runs than above
    # because its deviation from alpha, if any, is small.
    runs, n = 10000, 500
    rng = np.random.default_rng(12)
    c = rng.exponential(1.0, size=(runs, n))
    t = rng.exponential(1.0, size=(runs, n))
    c_sum, c_sq, t_sum, t_sq = c.sum(1), (c * c).sum(1), t.sum(1), (t * t).sum(1)
    rejected = 0
    for r in range(runs):
        result = welch(
            Moments(n, float(c_sum[r]), float(c_sq[r])),
            Moments(n, float(t_sum[r]), float(t_sq[r])),
            bayesian=False,
        )
        rejected += (result.rel_p_value or 1) < ALPHA
    assert _within_3_se(rejected / runs, runs), rejected / runs


def test_aa_ratio_metric_delta_method_is_calibrated() -> None:
    runs, n = 1500, 300
    rng = np.random.default_rng(7)

    def arm() -> RatioMoments:
        y = rng.poisson(3.0, n) + 1.0  # queries per user
        x = y * rng.gamma(2.0, 0.01, n)  # cost, per-user rate varies
        return RatioMoments(
            n,
            float(x.sum()),
            float((x * x).sum()),
            float(y.sum()),
            float((y * y).sum()),
            float((x * y).sum()),
        )

    rate = sum(compare_ratio(arm(), arm(), bayesian=False).p_value < ALPHA for _ in range(runs))
    assert _within_3_se(rate / runs, runs), rate / runs


def test_aa_cuped_is_calibrated_and_reduces_variance() -> None:
    runs, n = 1500, 300
    rng = np.random.default_rng(11)

    def arm() -> CupedMoments:
        x = rng.gamma(2.0, 2.0, n)
        y = 0.7 * x + rng.normal(0, 1.5, n)
        return CupedMoments(
            n,
            float(y.sum()),
            float((y * y).sum()),
            float(x.sum()),
            float((x * x).sum()),
            float((x * y).sum()),
        )

    results = [compare_cuped(arm(), arm(), bayesian=False) for _ in range(runs)]
    rate = sum(r.p_value < ALPHA for r in results) / runs
    assert _within_3_se(rate, runs), rate
    # rho² = 0.49·8 / (0.49·8 + 2.25) ≈ 0.635
    assert 0.6 < float(np.mean([r.variance_reduction or 0 for r in results])) < 0.67
