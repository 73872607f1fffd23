"""The always-valid interval of a control-comparison gate, checked against statsmodels."""

from __future__ import annotations

import numpy as np
import pytest
from statsmodels.stats.proportion import confint_proportions_2indep

from releases.sequential import proportion_difference_cs, regression


@pytest.mark.parametrize(
    ("xt", "nt", "xc", "nc"), [(30, 400, 20, 2000), (5, 100, 4, 100), (150, 1000, 40, 2000)]
)
def test_it_is_wider_than_the_fixed_sample_interval_and_centred_alike(
    xt: int, nt: int, xc: int, nc: int
) -> None:
    cs = proportion_difference_cs(
        treatment_successes=xt, treatment_n=nt, control_successes=xc, control_n=nc
    )
    assert cs is not None
    lo, hi = confint_proportions_2indep(xt, nt, xc, nc, method="wald", compare="diff")
    assert cs.difference == pytest.approx((lo + hi) / 2)
    assert cs.lo < lo and cs.hi > hi


def test_it_narrows_as_samples_grow() -> None:
    widths = []
    for n in (100, 1000, 10_000, 100_000):
        cs = proportion_difference_cs(
            treatment_successes=0.05 * n, treatment_n=n, control_successes=0.05 * n, control_n=n
        )
        assert cs is not None
        widths.append(cs.hi - cs.lo)
    assert widths == sorted(widths, reverse=True)


def test_peeking_after_every_batch_rarely_fires_without_a_difference() -> None:
    # Under no difference, checking after each of 50 batches of 100 events must fire in far
    # fewer than alpha = 5 % of runs (a fixed-sample test peeked at 50 times fires much more).
    rng = np.random.default_rng(7)
    runs, fired = 300, 0
    for _ in range(runs):
        t = rng.random((50, 100)) < 0.05
        c = rng.random((50, 100)) < 0.05
        xt, xc = np.cumsum(t.sum(axis=1)), np.cumsum(c.sum(axis=1))
        for k in range(50):
            n = (k + 1) * 100
            cs = proportion_difference_cs(
                treatment_successes=float(xt[k]),
                treatment_n=n,
                control_successes=float(xc[k]),
                control_n=n,
            )
            if regression(cs):
                fired += 1
                break
    assert fired / runs < 0.05


def test_no_data_is_no_regression() -> None:
    none = proportion_difference_cs(
        treatment_successes=0, treatment_n=0, control_successes=1, control_n=10
    )
    assert none is None and regression(none) is False
