"""GrowthBook's published gbstats test cases, reproduced by experiments.stats to their printed
digits (docs/experiments.md, "How it is checked", lists every upstream case and why the few
left out are).

Sources, in the growthbook/growthbook repository:
- packages/stats/tests/frequentist/test_tests.py, the version whose tests take
  SampleMeanStatistic / ProportionStatistic / RegressionAdjustedStatistic inputs and include
  the one-sided classes (TestTwoSidedTTest, TestSequentialTTest, TestOneSidedGreaterTTest,
  TestOneSidedLesserTTest). Printed to 5 decimals.
- packages/stats/tests/test_gbstats.py at commit 01d75aeffaf1c616823c5dc3c56d2b3252cc1c22: the
  end-to-end analyses of a data frame of per-variant sums (analyze_metric_df), printed to 9
  decimals. Their columns map onto our inputs: users/count -> n, main_sum -> sum (sum_x for a
  ratio, sum_y under CUPED), main_sum_squares -> sum_sq, denominator_sum(_squares) ->
  sum_y(2), main_denominator_sum_product -> sum_xy, covariate_sum(_squares) -> sum_x(2),
  main_covariate_sum_product -> sum_xy. Variation "zero" is the control.

Mapping of outputs: their "expected" and "uplift.mean" are our rel_lift (abs_lift for
difference_type="absolute"), "uplift.stddev" our rel_se (abs_se), "ci" our rel_ci (abs_ci),
"pValue" our rel_p_value (p_value), "cr" the arm's value, "chanceToWin" our chance_to_beat.
Their "default output" (expected 0, p 1, no interval: an arm without variance, fewer than two
units, no denominator) is our Comparison with p_value 1, no interval and `error` set; we
leave rel_lift None there rather than 0.
"""

from __future__ import annotations

import pytest
from scipy import stats as sp

from experiments.stats import (
    CupedMoments,
    CupedRatioMoments,
    Moments,
    RatioMoments,
    benjamini_hochberg,
    compare_cuped,
    compare_cuped_ratio,
    compare_ratio,
    holm,
    sequential,
    welch,
)


def r5(x: float | None) -> float | None:
    return None if x is None else round(x, 5)


def r9(x: float | None) -> float | None:
    return None if x is None else round(x, 9)


def ci5(ci: tuple[float, float] | None) -> tuple[float | None, ...]:
    return tuple(map(r5, ci or (None, None)))


# --- frequentist/test_tests.py ----------------------------------------------------------------
# TestTwoSidedTTest.setUp
GB_A = Moments(n=3407, sum=1396.87, sum_sq=52377.9767)
GB_B = Moments(n=3461, sum=2422.7, sum_sq=134698.29)
# TestSequentialTTest / TestOneSided*: stat_a with n=3000
GB_A3000 = Moments(n=3000, sum=1396.87, sum_sq=52377.9767)


def test_two_sided_ttest() -> None:
    got = welch(GB_A, GB_B)
    assert r5(got.rel_lift) == 0.70732
    assert ci5(got.rel_ci) == (-0.03526, 1.44989)
    assert r5(got.rel_se) == 0.37879
    assert r5(got.rel_p_value) == 0.06191


def test_two_sided_ttest_absolute() -> None:
    got = welch(GB_A, GB_B)
    assert r5(got.abs_lift) == round(0.7 - 0.41, 5)
    assert ci5(got.abs_ci) == (0.04538, 0.53462)
    assert r5(got.abs_se) == 0.12478
    assert r5(got.p_value) == 0.02016


def test_two_sided_ttest_binom() -> None:
    got = welch(Moments.proportion(14, 28), Moments.proportion(16, 30), proportion=True)
    assert r5(got.rel_lift) == round((16 / 30 - 0.5) / 0.5, 5)
    assert ci5(got.rel_ci) == (-0.47767, 0.61101)
    assert r5(got.rel_se) == 0.2717
    assert r5(got.rel_p_value) == 0.80707


def test_two_sided_ttest_missing_variance() -> None:
    # Inconsistent sums (n=2 with these sums: a negative variance): gbstats' default output.
    got = welch(Moments(n=2, sum=1396.87, sum_sq=52377.9767), GB_B)
    assert (got.p_value, got.abs_ci, got.rel_ci, got.rel_p_value) == (1.0, None, None, None)
    assert got.error == "negative variance: inconsistent sums"


def test_sequential_test_runs() -> None:
    got = sequential(GB_A3000, GB_B, tuning=1000)
    assert r5(got.rel_lift) == 0.50336
    assert ci5(got.rel_ci) == (-0.55844, 1.56516)
    assert r5(got.rel_se) == 0.33341
    assert got.rel_p_value == 1
    assert got.method == "welch (sequential)" and got.sequential_tuning == 1000


def test_sequential_test_runs_prop() -> None:
    got = sequential(
        Moments.proportion(1396, 3000), Moments.proportion(2422, 3461), proportion=True
    )  # gbstats' default tuning, 5,000
    assert r5(got.rel_lift) == 0.50386
    assert ci5(got.rel_ci) == (0.40098, 0.60675)
    assert r5(got.rel_se) == 0.03386
    assert r5(got.rel_p_value) == 0.0


def test_sequential_test_runs_ra() -> None:
    # RegressionAdjustedStatistic, theta=None (pooled), post_pre_sum_of_products=1 per arm.
    # Their adjusted mean is y − θ·x uncentred; ours centres x on the pooled mean, which moves
    # both arms alike and leaves the lift unchanged. The relative variance is the delta
    # method's for (adjusted lift) / (raw control mean), as theirs.
    a = CupedMoments(
        n=3000, sum_y=1396.87, sum_y2=52377.9767, sum_x=16.87, sum_x2=527.9767, sum_xy=1
    )
    b = CupedMoments(n=3461, sum_y=2422.7, sum_y2=134698.29, sum_x=22.7, sum_x2=1348.29, sum_xy=1)
    got = sequential(a, b)
    assert r5(got.rel_lift) == 0.50338
    assert ci5(got.rel_ci) == (-0.50969, 1.51646)
    assert r5(got.rel_se) == 0.33341
    assert got.rel_p_value == 1


def test_sequential_test_tuning_as_expected() -> None:
    below, near, above = (sequential(GB_A3000, GB_B, tuning=t).rel_ci for t in (10, 6461, 10000))
    assert below and near and above
    assert below[0] < above[0] and below[1] > above[1]
    assert below[0] < near[0] and below[1] > near[1]
    assert above[0] < near[0] and above[1] > near[1]


# TestOneSidedGreaterTTest / TestOneSidedLesserTTest (fixed horizon). We offer two-sided tests
# only; these check that our estimate, standard error and Welch df are theirs, by building
# their one-sided bound and p-value from them with scipy's Student t.
@pytest.mark.parametrize(
    ("kind", "expected", "stddev", "greater_lo", "greater_p", "lesser_hi", "lesser_p"),
    [
        (
            "relative",
            0.5033610858562358,
            0.3334122146400735,
            -0.045136675850396046,
            0.06558262868467746,
            1.0518588475628676,
            0.9344173713153225,
        ),
        (
            "absolute",
            0.23437666666666668,
            0.12983081254184736,
            0.020791480063255735,
            0.03554272489873023,
            0.44796185327007765,
            0.9644572751012698,
        ),
    ],
)
def test_one_sided_ttest(
    kind: str,
    expected: float,
    stddev: float,
    greater_lo: float,
    greater_p: float,
    lesser_hi: float,
    lesser_p: float,
) -> None:
    got = welch(GB_A3000, GB_B)
    est, se = (got.rel_lift, got.rel_se) if kind == "relative" else (got.abs_lift, got.abs_se)
    assert est is not None and se is not None and got.df is not None
    q = sp.t.ppf(0.95, got.df)
    assert (r5(est), r5(se)) == (r5(expected), r5(stddev))
    assert (r5(est - q * se), r5(sp.t.sf(est / se, got.df))) == (r5(greater_lo), r5(greater_p))
    assert (r5(est + q * se), r5(sp.t.cdf(est / se, got.df))) == (r5(lesser_hi), r5(lesser_p))


# --- test_gbstats.py: analyze_metric_df end to end ------------------------------------------
# MULTI_DIMENSION_STATISTICS_DF, dimension "one" (COUNT_METRIC)
COUNT_ZERO = Moments(n=100, sum=270, sum_sq=848.79)
COUNT_ONE = Moments(n=120, sum=300, sum_sq=869)
# RATIO_STATISTICS_DF (RATIO_METRIC)
RATIO_ZERO = RatioMoments(n=100, sum_x=270, sum_x2=848.79, sum_y=510, sum_y2=810, sum_xy=-900)
RATIO_ONE = RatioMoments(n=120, sum_x=300, sum_x2=869, sum_y=500, sum_y2=800, sum_xy=-905)
# RA_STATISTICS_DF (RA_METRIC)
RA_ZERO = CupedMoments(n=3001, sum_y=300, sum_y2=600, sum_x=210, sum_x2=415, sum_xy=-20)
RA_ONE = CupedMoments(n=3000, sum_y=222, sum_y2=555, sum_x=120, sum_x2=405, sum_xy=-10)


def test_get_metric_dfs_frequentist() -> None:
    # TestAnalyzeMetricDfFrequentist
    got = welch(COUNT_ZERO, COUNT_ONE)
    assert (r9(got.control_value), r9(got.treatment_value)) == (2.7, 2.5)
    assert r9(got.rel_lift) == -0.074074074
    assert r9(got.rel_p_value) == 0.145219005


def test_get_metric_dfs_frequentist_ratio() -> None:
    # TestAnalyzeMetricDfFrequentist: delta-method ratio with the numerator-denominator
    # covariance (their variance_of_ratios), relative lift by the delta method.
    got = compare_ratio(RATIO_ZERO, RATIO_ONE)
    assert (r9(got.control_value), r9(got.treatment_value)) == (0.529411765, 0.6)
    assert r9(got.rel_lift) == 0.133333333
    assert r9(got.rel_p_value) == 0.610663339


def test_get_metric_dfs_zero_val() -> None:
    # TestAnalyzeMetricDfFrequentist, ONE_USER_DF: a treatment of one user has no variance.
    got = welch(Moments(n=3, sum=20, sum_sq=443), Moments(n=1, sum=1, sum_sq=1))
    assert (r9(got.control_value), r9(got.treatment_value)) == (6.666666667, 1)
    assert (got.p_value, got.rel_ci, got.rel_lift) == (1.0, None, None)
    assert got.error == "fewer than two units in an arm"


def test_get_metric_dfs_ratio_zero_denom() -> None:
    # TestAnalyzeMetricDfFrequentist, ZERO_DENOM_RATIO_STATISTICS_DF: the control has no
    # denominator, so its ratio is undefined (their cr 0) and nothing is tested.
    control = RatioMoments(n=100, sum_x=270, sum_x2=848.79, sum_y=0, sum_y2=0, sum_xy=0)
    got = compare_ratio(control, RATIO_ONE)
    assert (r9(got.control_value), r9(got.treatment_value)) == (0, 0.6)
    assert (got.p_value, got.abs_ci, got.rel_ci, got.rel_lift) == (1.0, None, None, None)
    assert got.error == "no denominator in an arm: its ratio is undefined"


def test_analyze_metric_df_ra() -> None:
    # TestAnalyzeMetricDfRegressionAdjustment: the arms' values are unadjusted, the relative
    # lift is not the difference in means over the control mean.
    got = compare_cuped(RA_ZERO, RA_ONE)
    assert (r9(got.control_value), r9(got.treatment_value)) == (0.099966678, 0.074)
    assert r9(got.rel_lift) == -0.281707154
    assert r9(got.rel_p_value) == 0.003732549
    assert round(got.rel_lift or 0, 3) != round((0.074 - 0.110963012) / 0.110963012, 3)


def test_analyze_metric_df_ra_proportion() -> None:
    # TestAnalyzeMetricDfRegressionAdjustment: binomial main and covariate (their data frame
    # drops the sums of squares: for 0/1 values they equal the sums).
    zero = CupedMoments(n=3001, sum_y=300, sum_y2=300, sum_x=210, sum_x2=210, sum_xy=-20)
    one = CupedMoments(n=3000, sum_y=222, sum_y2=222, sum_x=120, sum_x2=120, sum_xy=-10)
    got = compare_cuped(zero, one, proportion=True)
    assert (r9(got.control_value), r9(got.treatment_value)) == (0.099966678, 0.074)
    assert r9(got.rel_lift) == -0.31620216
    assert r9(got.rel_p_value) == 0.000000353
    assert got.method == "cuped-welch-proportion"


def test_analyze_metric_df_sequential() -> None:
    # TestAnalyzeMetricDfSequential: tuning 600, then 1 (a worse tuning widens the interval).
    got = sequential(COUNT_ZERO, COUNT_ONE, tuning=600)
    assert r9(got.rel_lift) == -0.074074074
    assert r9(got.rel_p_value) == 0.892332229
    assert got.rel_ci and r9(got.rel_ci[0]) == -0.233322085
    bad = sequential(COUNT_ZERO, COUNT_ONE, tuning=1)
    assert bad.rel_ci and got.rel_ci[0] > bad.rel_ci[0]


def test_get_metric_dfs_bayesian_new_and_inverse() -> None:
    # TestAnalyzeMetricDfBayesian (DEFAULT_ANALYSIS: no informative prior): the chance to win
    # is the normal posterior's mass above 0; for an inverse metric its complement (what
    # experiments/compute.py reports for "lower is better"). Their risk is not computed here.
    got = welch(COUNT_ZERO, COUNT_ONE)
    assert r9(got.rel_lift) == -0.074074074
    assert r9(got.chance_to_beat) == 0.071834168
    assert r9(1 - (got.chance_to_beat or 0)) == r9(1 - 0.071834168)


def test_get_metric_dfs_bayesian_ratio() -> None:
    # TestAnalyzeMetricDfBayesian
    got = compare_ratio(RATIO_ZERO, RATIO_ONE)
    assert r9(got.rel_lift) == 0.133333333
    assert r9(got.chance_to_beat) == 0.694926359


# --- CUPED on ratio metrics: RegressionAdjustedRatioStatistic ---------------------------------
# TestTwoSidedTTest.test_two_sided_ttest_test_runs_ratio_ra and TestSequentialTTest.
# test_sequential_test_runs_ratio_ra (frequentist/test_tests.py), and test_gbstats.py's
# test_analyze_metric_df_ratio_ra (the same rows: RATIO_RA_STATISTICS_DF). Their
# m_statistic_post / d_statistic_post are our post x / y, m/d_statistic_pre our pre x / y,
# m_post_m_pre etc. the cross-products; theta=None (fitted on both arms).
def _ratio_ra(
    n: int,
    post: tuple[float, float, float, float, float],
    pre: tuple[float, float, float, float, float],
    cross: tuple[float, float, float, float],
) -> CupedRatioMoments:
    """post / pre: (Σx, Σx², Σy, Σy², Σxy); cross: (x·pre x, x·pre y, y·pre x, y·pre y)."""
    return CupedRatioMoments(
        post=RatioMoments(n, *post),
        pre=RatioMoments(n, *pre),
        sum_x_prex=cross[0],
        sum_x_prey=cross[1],
        sum_y_prex=cross[2],
        sum_y_prey=cross[3],
    )


RATIO_RA_A = _ratio_ra(
    100,
    (485.112236689623, 2715.484666118136, 679.9093275844917, 4939.424001640236, 3602.146836776702),
    (192.59138069991536, 460.076026390857, 290.1398399750233, 920.9461385038898, 634.239482353647),
    (1113.6215759318352, 1559.2878434944676, 1460.3181079276983, 2130.9404074446747),
)
RATIO_RA_B = _ratio_ra(
    100,
    (514.7757826608777, 2994.897482705013, 705.4090874383759, 5291.36604146392, 3918.1561431600717),
    (
        206.94157227402536,
        514.2903702246757,
        302.54389139107326,
        994.4506208125663,
        698.4173425817908,
    ),
    (1237.0953021125997, 1701.0287270040265, 1604.0759503266522, 2292.081739775257),
)


def test_two_sided_ttest_test_runs_ratio_ra() -> None:
    got = compare_cuped_ratio(RATIO_RA_A, RATIO_RA_B)
    assert r5(got.rel_lift) == -0.0007
    assert ci5(got.rel_ci) == (-0.00841, 0.00700)
    assert r5(got.rel_se) == 0.00391
    assert r5(got.rel_p_value) == 0.85771
    assert got.method == "cuped-delta-ratio"


def test_sequential_test_runs_ratio_ra() -> None:
    got = sequential(RATIO_RA_A, RATIO_RA_B)  # their default tuning, 5,000
    assert r5(got.rel_lift) == -0.0007
    assert ci5(got.rel_ci) == (-0.02063, 0.01923)
    assert r5(got.rel_se) == 0.00391
    assert got.rel_p_value == 1.0


def test_analyze_metric_df_ratio_ra() -> None:
    # The arms' values are unadjusted (their cr and mean), the lift adjusted.
    got = compare_cuped_ratio(RATIO_RA_A, RATIO_RA_B)
    assert (r9(got.control_value), r9(got.treatment_value)) == (0.713495487, 0.729754963)
    assert r9(got.rel_lift) == -0.000701483
    assert r9(got.rel_p_value) == 0.857710405


# --- vectors quoted in STATS_NOTES.md ---------------------------------------------------------
def test_bayesian_chance_to_beat_control_binomial() -> None:
    # STATS_NOTES.md's gbstats vector (flat prior, Gaussian posterior of the relative lift).
    # The older gbstats in growthbook packages/stats/tests/bayesian/test_tests.py
    # (test_bayesian_binomial_ab_test: 0.61052) used a lognormal posterior, not our definition.
    got = welch(Moments.proportion(49, 100), Moments.proportion(51, 100), proportion=True)
    assert r5(got.rel_lift or 0) == 0.04082
    assert r5(got.chance_to_beat or 0) == 0.60918
    assert welch(Moments.proportion(49, 100), Moments.proportion(51, 100), bayesian=False)
    assert welch(GB_A, GB_B, bayesian=False).chance_to_beat is None


def test_gbstats_multiple_comparison_vectors() -> None:
    assert holm([0.01, 0.04, 0.03, 0.005, 0.55, 0.6]) == pytest.approx(
        [0.05, 0.12, 0.12, 0.03, 1, 1]
    )
    assert benjamini_hochberg([0.898, 0.138, 0.007, 0.964, 0.538, 0.006, 0.138]) == pytest.approx(
        [0.964, 0.2415, 0.0245, 0.964, 0.7532, 0.0245, 0.2415]
    )
