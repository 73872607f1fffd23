"""experiments.stats on degenerate inputs: never an exception, always a Comparison that says
why it has no interval (docs/experiments.md, "Degenerate inputs")."""

from __future__ import annotations

import math
import random

import pytest

from experiments.stats import (
    CupedMoments,
    Moments,
    QuantileEstimate,
    RatioMoments,
    compare_cuped,
    compare_quantile,
    compare_ratio,
    sequential,
    welch,
)
from experiments.stats_compare import (
    CONTROL_ZERO,
    NEGATIVE_VARIANCE,
    NO_DENOMINATOR,
    NO_RELATIVE_VARIANCE,
    NO_VARIANCE,
    NOT_FINITE,
    TOO_FEW_UNITS,
)


def test_too_few_units_and_inconsistent_sums_say_why_and_never_claim_significance() -> None:
    one = welch(Moments(1, 3.0, 9.0), Moments(50, 100.0, 300.0))
    assert (one.p_value, one.abs_ci, one.error) == (1.0, None, TOO_FEW_UNITS)
    bad = welch(Moments(10, 30.0, 1.0), Moments(10, 30.0, 100.0))
    assert (bad.p_value, bad.abs_ci, bad.error) == (1.0, None, NEGATIVE_VARIANCE)


@pytest.mark.parametrize("tuning", [None, 5000.0])
def test_identical_values_keep_the_lifts_but_have_no_interval(tuning: float | None) -> None:
    # Every unit 3 in control, 5 in treatment: the lifts are exact, there is nothing to test.
    got = welch(Moments(10, 30.0, 90.0), Moments(12, 60.0, 300.0), sequential_tuning=tuning)
    assert (got.abs_lift, got.rel_lift) == pytest.approx((2.0, 2 / 3))
    assert (got.abs_ci, got.rel_ci, got.p_value, got.rel_p_value) == (None, None, 1.0, None)
    assert got.error == NO_VARIANCE and got.chance_to_beat is None


def test_one_constant_arm_is_tested_on_the_other_arms_variance() -> None:
    flat, noisy = Moments(10, 30.0, 90.0), Moments.of([2.0, 4.0, 3.0, 5.0, 1.0, 3.0])
    got = welch(flat, noisy)
    assert got.error is None and got.abs_ci is not None and got.rel_ci is not None
    assert got.abs_se == pytest.approx(math.sqrt(noisy.variance / noisy.n))
    assert got.df == pytest.approx(noisy.n - 1)  # Welch-Satterthwaite with one arm's variance


def test_a_control_of_zero_tests_the_absolute_lift_only() -> None:
    got = welch(Moments.of([-1.0, 1.0, -2.0, 2.0]), Moments.of([1.0, 2.0, 3.0, 2.0]))
    assert got.abs_ci is not None and got.p_value < 1
    assert (got.rel_lift, got.rel_ci, got.error) == (None, None, CONTROL_ZERO)
    flat_zero = welch(Moments.proportion(0, 50), Moments.proportion(0, 50), proportion=True)
    assert (flat_zero.abs_lift, flat_zero.rel_lift, flat_zero.error) == (0.0, None, NO_VARIANCE)


def test_a_treatment_without_events_has_a_relative_lift_but_no_relative_interval() -> None:
    got = welch(Moments.proportion(12, 1000), Moments.proportion(0, 1000), proportion=True)
    assert got.rel_lift == -1 and got.rel_ci is None and got.abs_ci is not None
    assert got.p_value < 0.05 and got.error == NO_RELATIVE_VARIANCE


def test_a_ratio_arm_without_denominator_is_not_compared() -> None:
    some = RatioMoments(n=50, sum_x=20, sum_x2=12, sum_y=100, sum_y2=260, sum_xy=50)
    none = RatioMoments(n=50, sum_x=0, sum_x2=0, sum_y=0, sum_y2=0, sum_xy=0)
    for control, treatment in ((none, some), (some, none)):
        got = compare_ratio(control, treatment)
        assert (got.p_value, got.abs_ci, got.rel_lift, got.error) == (
            1.0,
            None,
            None,
            NO_DENOMINATOR,
        )
        assert got.as_dict()["abs_lift"] is None  # NaN never reaches a JSON snapshot


def test_extreme_magnitudes_are_reported_not_raised() -> None:
    huge = welch(Moments(4, 4e200, 4e300), Moments(4, 5e200, 7e300))
    assert huge.error == NOT_FINITE and huge.p_value == 1.0
    tiny = welch(Moments.of([1e-170, 3e-170]), Moments.of([1.0, 2.0, 3.0]))
    # A control mean of 2e-170: the relative lift (1e170) stands, its variance overflows.
    assert tiny.abs_ci is not None and tiny.rel_lift == pytest.approx(1e170)
    assert (tiny.rel_ci, tiny.error) == (None, NOT_FINITE)
    big_ratio = RatioMoments(n=3, sum_x=1e200, sum_x2=1e300, sum_y=3e-200, sum_y2=1e-300, sum_xy=1)
    assert compare_ratio(big_ratio, big_ratio).error is not None
    odd = welch(Moments(10, 20.0, 20.0), Moments(10, 5.0, 5.0), proportion=True)  # p > 1
    assert odd.effect_size is None


def test_random_degenerate_inputs_never_raise() -> None:
    rng = random.Random(12)

    def values() -> list[float]:
        n = rng.choice([0, 1, 2, 3, 30])
        pick = rng.choice(["same", "zero", "tiny", "huge", "normal", "binary"])
        base = rng.choice([0.0, 1.5, -3.0, 1e6])
        return {
            "same": [base] * n,
            "zero": [0.0] * n,
            "tiny": [1e-160 * rng.random() for _ in range(n)],
            "huge": [1e150 * rng.random() for _ in range(n)],
            "normal": [rng.gauss(0, 1) for _ in range(n)],
            "binary": [float(rng.random() < 0.1) for _ in range(n)],
        }[pick]

    def moments(x: list[float], y: list[float]) -> tuple[float, ...]:
        return (
            sum(x),
            sum(v * v for v in x),
            sum(y),
            sum(v * v for v in y),
            sum(a * b for a, b in zip(x, y, strict=True)),
        )

    for _ in range(3000):
        a, b = values(), values()
        tuning = rng.choice([None, 5000.0])
        ya = [abs(v) + rng.choice([0.0, 1.0]) for v in a]
        yb = [abs(v) + rng.choice([0.0, 1.0]) for v in b]
        got = [
            welch(Moments.of(a), Moments.of(b), sequential_tuning=tuning),
            welch(Moments.of(a), Moments.of(b), proportion=True),
            compare_ratio(
                RatioMoments(len(a), *moments(a, ya)), RatioMoments(len(b), *moments(b, yb))
            ),
            compare_cuped(
                CupedMoments(len(a), *moments(a, ya)),
                CupedMoments(len(b), *moments(b, yb)),
                sequential_tuning=tuning,
            ),
        ]
        for c in got:
            assert 0.0 <= c.p_value <= 1.0
            if c.abs_ci is None:
                assert c.error is not None and c.p_value == 1.0


def test_sequential_and_quantile_comparisons_on_flat_data() -> None:
    flat = Moments(20, 20.0, 20.0)
    assert sequential(flat, flat).error == NO_VARIANCE
    q = QuantileEstimate(n=100, value=900.0, lo=900.0, hi=900.0)
    assert compare_quantile(q, q).error == NO_VARIANCE
