"""experiments.stats against scipy and statsmodels (to 1e-6) and against GrowthBook's gbstats
test cases (to their printed 5 decimals). Pure functions: no database."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy import stats as sp
from statsmodels.stats import proportion as sm_proportion
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.power import NormalIndPower, TTestIndPower

from experiments.stats import (
    CupedMoments,
    Moments,
    QuantileEstimate,
    RatioMoments,
    adjust,
    benjamini_hochberg,
    compare,
    compare_cuped,
    compare_quantile,
    compare_ratio,
    cuped_theta,
    holm,
    mde,
    power,
    quantile_rank_ci,
    sample_size,
    sequential,
    srm,
    two_proportion_z,
    welch,
)
from experiments.stats_power import Test

TOL = 1e-6


def r5(x: float) -> float:
    return round(x, 5)


def _arms(seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.normal(10.0, 3.0, 400), rng.lognormal(2.4, 0.4, 530)


# --- Welch, proportions, effect sizes -------------------------------------------------------
def test_welch_matches_scipy_ttest_ind_unequal_var() -> None:
    control, treatment = _arms()
    got = welch(Moments.of(control.tolist()), Moments.of(treatment.tolist()), bayesian=False)
    ref = sp.ttest_ind(treatment, control, equal_var=False)
    assert got.abs_lift == pytest.approx(treatment.mean() - control.mean(), abs=TOL)
    assert got.p_value == pytest.approx(ref.pvalue, abs=TOL)
    assert got.df == pytest.approx(ref.df, abs=TOL)
    assert got.abs_se is not None
    assert got.abs_lift / got.abs_se == pytest.approx(ref.statistic, abs=TOL)
    lo, hi = ref.confidence_interval(0.95)
    assert got.abs_ci == pytest.approx((lo, hi), abs=TOL)
    assert got.method == "welch"


def test_welch_from_sufficient_statistics_matches_ttest_ind_from_stats() -> None:
    control, treatment = Moments(500, 2400.0, 14000.0), Moments(480, 2500.0, 15500.0)
    got = welch(control, treatment, alpha=0.1)
    ref = sp.ttest_ind_from_stats(
        treatment.mean,
        math.sqrt(treatment.variance),
        treatment.n,
        control.mean,
        math.sqrt(control.variance),
        control.n,
        equal_var=False,
    )
    assert got.p_value == pytest.approx(ref.pvalue, abs=TOL)
    half = sp.t.ppf(0.95, got.df) * got.abs_se
    assert got.abs_ci == pytest.approx((got.abs_lift - half, got.abs_lift + half))


def test_cohens_d_uses_the_average_of_the_two_sample_variances() -> None:
    control, treatment = _arms(2)
    got = welch(Moments.of(control.tolist()), Moments.of(treatment.tolist()))
    sd = math.sqrt((control.var(ddof=1) + treatment.var(ddof=1)) / 2)
    assert got.effect_size == pytest.approx((treatment.mean() - control.mean()) / sd, abs=TOL)


def test_proportion_uses_unpooled_p_times_one_minus_p_with_welch_df() -> None:
    control, treatment = Moments.proportion(120, 1000), Moments.proportion(150, 980)
    got = welch(control, treatment, proportion=True)
    pc, pt = 0.12, 150 / 980
    ref = sp.ttest_ind_from_stats(
        pt, math.sqrt(pt * (1 - pt)), 980, pc, math.sqrt(pc * (1 - pc)), 1000, equal_var=False
    )
    assert got.p_value == pytest.approx(ref.pvalue, abs=TOL)
    assert got.effect_size == pytest.approx(sm_proportion.proportion_effectsize(pt, pc), abs=TOL)
    assert got.method == "welch-proportion"


def test_two_proportion_z_matches_statsmodels() -> None:
    control, treatment = Moments.proportion(120, 1000), Moments.proportion(150, 980)
    z, p = two_proportion_z(control, treatment, pooled=True)
    ref_z, ref_p = sm_proportion.proportions_ztest([150, 120], [980, 1000])
    assert (z, p) == pytest.approx((ref_z, ref_p), abs=TOL)
    z, p = two_proportion_z(control, treatment, pooled=False)
    ref = sm_proportion.test_proportions_2indep(150, 980, 120, 1000, method="wald", compare="diff")
    assert (z, p) == pytest.approx((ref.statistic, ref.pvalue), abs=TOL)


# GrowthBook's gbstats cases: tests/experiments/test_stats_gbstats.py.
GB_A = Moments(n=3407, sum=1396.87, sum_sq=52377.9767)
GB_B = Moments(n=3461, sum=2422.7, sum_sq=134698.29)


# --- sequential ---------------------------------------------------------------------------------
def test_sequential_interval_is_wider_than_the_fixed_one_and_contains_it() -> None:
    control, treatment = _arms(3)
    c, t = Moments.of(control.tolist()), Moments.of(treatment.tolist())
    fixed, seq = welch(c, t), sequential(c, t)
    assert fixed.abs_ci and seq.abs_ci
    assert seq.abs_ci[0] < fixed.abs_ci[0] and seq.abs_ci[1] > fixed.abs_ci[1]
    assert seq.p_value >= fixed.p_value


def test_sequential_p_value_is_below_alpha_exactly_when_the_sequence_excludes_zero() -> None:
    rng = np.random.default_rng(9)
    seen = set()
    for lift in np.linspace(0.0, 0.3, 13):
        c = Moments.of(rng.normal(1.0, 1.0, 800).tolist())
        t = Moments.of(rng.normal(1.0 + lift, 1.0, 800).tolist())
        got = sequential(c, t)
        assert got.abs_ci
        excludes = got.abs_ci[0] > 0 or got.abs_ci[1] < 0
        assert (got.p_value < 0.05) == excludes
        seen.add(excludes)
    assert seen == {True, False}


def test_sequential_dispatches_on_the_input_kind() -> None:
    r = RatioMoments(n=100, sum_x=50, sum_x2=40, sum_y=200, sum_y2=500, sum_xy=110)
    cu = CupedMoments(n=100, sum_y=50, sum_y2=40, sum_x=45, sum_x2=35, sum_xy=30)
    assert sequential(r, r).method == "delta-ratio (sequential)"
    assert sequential(cu, cu).method == "cuped-welch (sequential)"
    assert compare(r, r).method == "delta-ratio"
    assert compare(GB_A, GB_B) == welch(GB_A, GB_B)
    with pytest.raises(TypeError):
        sequential(r, cu)


# --- ratio metrics ------------------------------------------------------------------------------
def _ratio_moments(x: np.ndarray, y: np.ndarray) -> RatioMoments:
    return RatioMoments(
        n=len(x),
        sum_x=float(x.sum()),
        sum_x2=float((x * x).sum()),
        sum_y=float(y.sum()),
        sum_y2=float((y * y).sum()),
        sum_xy=float((x * y).sum()),
    )


def test_ratio_variance_equals_the_linearised_per_unit_variance() -> None:
    # Delta method = the variance of the influence values (x − R·y)/ȳ over n.
    rng = np.random.default_rng(4)
    y = rng.poisson(4, 800) + 1.0  # queries per user
    x = y * rng.gamma(2.0, 0.01, 800)  # cost, correlated with queries
    m = _ratio_moments(x, y)
    ratio = x.sum() / y.sum()
    influence = (x - ratio * y) / y.mean()
    assert m.ratio == pytest.approx(ratio, rel=1e-12)
    assert m.ratio_variance == pytest.approx(influence.var(ddof=1) / len(x), rel=1e-9)


def test_compare_ratio_is_a_welch_test_on_the_ratio_variances() -> None:
    rng = np.random.default_rng(5)
    yc, yt = rng.poisson(4, 700) + 1.0, rng.poisson(4, 650) + 1.0
    c = _ratio_moments(yc * rng.gamma(2.0, 0.010, 700), yc)
    t = _ratio_moments(yt * rng.gamma(2.0, 0.011, 650), yt)
    got = compare_ratio(c, t)
    ref = sp.ttest_ind_from_stats(
        t.ratio,
        math.sqrt(t.ratio_variance * t.n),
        t.n,
        c.ratio,
        math.sqrt(c.ratio_variance * c.n),
        c.n,
        equal_var=False,
    )
    assert got.p_value == pytest.approx(ref.pvalue, abs=TOL)
    assert got.abs_lift == pytest.approx(t.ratio - c.ratio)
    assert got.rel_lift == pytest.approx(t.ratio / c.ratio - 1)


# --- CUPED -----------------------------------------------------------------------------------
def _cuped_data(seed: int = 6) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    xc, xt = rng.normal(5, 2, 600), rng.normal(5, 2, 640)
    yc = 1.0 + 0.8 * xc + rng.normal(0, 1, 600)
    yt = 1.2 + 0.8 * xt + rng.normal(0, 1, 640)
    return xc, yc, xt, yt


def _cuped_moments(x: np.ndarray, y: np.ndarray) -> CupedMoments:
    return CupedMoments(
        n=len(y),
        sum_y=float(y.sum()),
        sum_y2=float((y * y).sum()),
        sum_x=float(x.sum()),
        sum_x2=float((x * x).sum()),
        sum_xy=float((x * y).sum()),
    )


def test_cuped_is_welch_on_the_adjusted_values_with_pooled_theta() -> None:
    xc, yc, xt, yt = _cuped_data()
    c, t = _cuped_moments(xc, yc), _cuped_moments(xt, yt)
    x, y = np.concatenate([xc, xt]), np.concatenate([yc, yt])
    theta = np.cov(y, x, ddof=1)[0, 1] / x.var(ddof=1)
    assert cuped_theta(c, t) == pytest.approx(theta, rel=1e-9)
    adj_c, adj_t = yc - theta * (xc - x.mean()), yt - theta * (xt - x.mean())
    got = compare_cuped(c, t)
    ref = sp.ttest_ind(adj_t, adj_c, equal_var=False)
    assert (got.control_value, got.treatment_value) == pytest.approx((yc.mean(), yt.mean()))
    assert got.rel_lift == pytest.approx((adj_t.mean() - adj_c.mean()) / yc.mean())
    assert got.abs_lift == pytest.approx(adj_t.mean() - adj_c.mean(), abs=TOL)
    assert got.p_value == pytest.approx(ref.pvalue, abs=TOL)
    assert got.abs_ci == pytest.approx(ref.confidence_interval(0.95), abs=TOL)
    assert got.method == "cuped-welch"


def test_cuped_reports_the_variance_reduction_close_to_rho_squared() -> None:
    xc, yc, xt, yt = _cuped_data(7)
    got = compare_cuped(_cuped_moments(xc, yc), _cuped_moments(xt, yt))
    plain = welch(Moments.of(yc.tolist()), Moments.of(yt.tolist()))
    rho = np.corrcoef(np.concatenate([xc, xt]), np.concatenate([yc, yt]))[0, 1]
    assert got.variance_reduction == pytest.approx(rho**2, abs=0.03)
    assert got.abs_se and plain.abs_se
    assert got.variance_reduction == pytest.approx(1 - (got.abs_se / plain.abs_se) ** 2)


def test_cuped_without_a_covariate_is_plain_welch() -> None:
    _, yc, _, yt = _cuped_data(8)
    zero = np.zeros
    got = compare_cuped(_cuped_moments(zero(len(yc)), yc), _cuped_moments(zero(len(yt)), yt))
    plain = welch(Moments.of(yc.tolist()), Moments.of(yt.tolist()))
    assert got.p_value == pytest.approx(plain.p_value, abs=TOL)
    assert got.variance_reduction == pytest.approx(0, abs=1e-12)


# --- quantiles ---------------------------------------------------------------------------------
@pytest.mark.parametrize("n", [100, 200, 1000, 20000])
def test_quantile_rank_ci_covers_the_p95_at_the_nominal_level(n: int) -> None:
    # X_(lo) <= xi_q < X_(hi) exactly when lo <= B < hi, B ~ Binomial(n, q) the number of
    # values below the true quantile: the exact coverage of the ranks.
    lo, hi = quantile_rank_ci(n, 0.95)
    assert 1 <= lo < hi <= n
    coverage = sp.binom.cdf(hi - 1, n, 0.95) - sp.binom.cdf(lo - 1, n, 0.95)
    assert coverage >= 0.95


def test_quantile_rank_ci_stops_at_the_largest_value_for_small_samples() -> None:
    # Below ~100 values the upper rank hits n: the interval's top is the maximum, and its
    # coverage is below nominal (P(all 50 values under the P95) = 0.95^50 ≈ 0.077).
    assert quantile_rank_ci(50, 0.95) == (44, 50)
    assert quantile_rank_ci(1, 0.5) == (1, 1)


def test_compare_quantile_reads_the_standard_errors_off_the_rank_intervals() -> None:
    z = sp.norm.ppf(0.975)
    c = QuantileEstimate(n=5000, value=900.0, lo=880.0, hi=925.0)
    t = QuantileEstimate(n=5000, value=960.0, lo=935.0, hi=990.0)
    got = compare_quantile(c, t)
    se = math.hypot(45 / (2 * z), 55 / (2 * z))
    assert got.abs_se == pytest.approx(se)
    assert got.p_value == pytest.approx(2 * sp.norm.sf(60 / se), abs=TOL)
    assert got.df is None  # normal reference


def test_as_dict_is_strict_json_for_snapshots() -> None:
    c = QuantileEstimate(n=5000, value=900.0, lo=880.0, hi=925.0)
    for result in (welch(GB_A, GB_B), compare_quantile(c, c), welch(Moments(1, 1.0, 1.0), GB_B)):
        data = json.loads(json.dumps(result.as_dict(), allow_nan=False))
        assert data["p_value"] == result.p_value and data["method"] == result.method
    assert welch(GB_A, GB_B).as_dict()["abs_ci"] == list(welch(GB_A, GB_B).abs_ci or ())


# --- SRM and multiple comparisons ----------------------------------------------------------------
def test_srm_matches_scipy_chisquare_and_flags_below_one_in_a_thousand() -> None:
    got = srm([5100, 4900], [0.5, 0.5])
    ref = sp.chisquare([5100, 4900], [5000, 5000])
    assert (got.chi2, got.p_value) == pytest.approx((ref.statistic, ref.pvalue), abs=TOL)
    assert not got.flagged
    skewed = srm([5400, 4600, 2000], [40, 40, 20])  # shares need not sum to 1
    ref = sp.chisquare([5400, 4600, 2000], [4800, 4800, 2400])
    assert skewed.p_value == pytest.approx(ref.pvalue, abs=TOL)
    assert skewed.flagged
    assert srm([0, 0], [0.5, 0.5]).flagged is False


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_holm_and_bh_match_statsmodels_multipletests(seed: int) -> None:
    p = np.random.default_rng(seed).uniform(0, 0.2, 12).tolist()
    assert holm(p) == pytest.approx(multipletests(p, method="holm")[1].tolist(), abs=TOL)
    bh = multipletests(p, method="fdr_bh")[1].tolist()
    assert benjamini_hochberg(p) == pytest.approx(bh, abs=TOL)
    assert adjust(p) == holm(p) and adjust(p, "bh") == benjamini_hochberg(p)


# --- power, sample size, MDE ----------------------------------------------------------------------
@pytest.mark.parametrize("ratio", [1.0, 2.0])
def test_power_matches_statsmodels(ratio: float) -> None:
    for n, d in [(50, 0.5), (394, 0.2), (3000, 0.05)]:
        t = TTestIndPower().power(effect_size=d, nobs1=n, alpha=0.05, ratio=ratio)
        z = NormalIndPower().power(effect_size=d, nobs1=n, alpha=0.05, ratio=ratio)
        assert power(n_per_arm=n, effect=d, ratio=ratio) == pytest.approx(t, abs=TOL)
        assert power(n_per_arm=n, effect=d, ratio=ratio, test="z") == pytest.approx(z, abs=TOL)


@pytest.mark.parametrize("test", ["t", "z"])
def test_sample_size_and_mde_solve_statsmodels_power_equation(test: Test) -> None:
    # Our solutions make statsmodels' own power function hit the target to 1e-6; its
    # solve_power stops at a looser tolerance, so we agree with it to 1e-5 relative.
    cls = TTestIndPower() if test == "t" else NormalIndPower()
    n = sample_size(effect=0.6, sd=3.0, power=0.9, ratio=1.5, test=test)
    assert cls.power(effect_size=0.2, nobs1=n, alpha=0.05, ratio=1.5) == pytest.approx(0.9, abs=TOL)
    ref_n = cls.solve_power(effect_size=0.2, alpha=0.05, power=0.9, ratio=1.5)
    assert n == pytest.approx(ref_n, rel=1e-5)
    d = mde(n_per_arm=250, power=0.8, test=test)
    assert cls.power(effect_size=d, nobs1=250, alpha=0.05) == pytest.approx(0.8, abs=TOL)
    assert d == pytest.approx(cls.solve_power(nobs1=250, alpha=0.05, power=0.8), rel=1e-5)


def test_sample_size_is_close_to_the_textbook_normal_formula() -> None:
    # n = 2·(z_{1−α/2} + z_{1−β})²·σ²/δ² for equal arms.
    formula = 2 * (sp.norm.ppf(0.975) + sp.norm.ppf(0.8)) ** 2 * 4.0**2 / 1.0**2
    assert sample_size(effect=1.0, sd=4.0, test="z") == pytest.approx(formula, rel=1e-4)
    assert mde(n_per_arm=formula, sd=4.0, test="z") == pytest.approx(1.0, rel=1e-4)


def test_design_calculators_refuse_impossible_inputs() -> None:
    with pytest.raises(ValueError, match="power"):
        sample_size(effect=1.0, power=1.0)
    with pytest.raises(ValueError, match="alpha"):
        mde(n_per_arm=100, alpha=0)
    with pytest.raises(ValueError, match="n_per_arm"):
        power(n_per_arm=1, effect=1.0)
    with pytest.raises(ValueError, match="effect"):
        sample_size(effect=0)
    with pytest.raises(ValueError, match="q"):
        quantile_rank_ci(100, 95)
