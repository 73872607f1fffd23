"""CUPED on ratio metrics (`stats.compare_cuped_ratio`): the delta method on the per-unit vector
(x, y, pre x, pre y), checked against numpy's covariance matrix and a numerical gradient, against
the plain delta-ratio test at θ = 0, by an A/A simulation, and end to end in the computation
(per-unit sums from aggregate SQL = the same sums from the raw rows). gbstats' published cases
are in test_stats_gbstats.py."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

import numpy as np
import pytest
from django.utils import timezone
from scipy import stats as sp

from experiments.compute import experiment_compute_results
from experiments.models import Experiment
from experiments.simulate import _exposure
from experiments.stats import (
    CupedRatioMoments,
    RatioMoments,
    compare_cuped_ratio,
    compare_ratio,
    cuped_ratio_theta,
    cuped_ratio_usable,
)
from feedback.models import Exposure, LlmCall
from tests.experiments.builders import running_experiment


def moments(x: np.ndarray, y: np.ndarray, u: np.ndarray, w: np.ndarray) -> CupedRatioMoments:
    def ratio(a: np.ndarray, b: np.ndarray) -> RatioMoments:
        s = (a.sum(), (a * a).sum(), b.sum(), (b * b).sum(), (a * b).sum())
        return RatioMoments(len(a), *map(float, s))

    return CupedRatioMoments(
        post=ratio(x, y),
        pre=ratio(u, w),
        sum_x_prex=float((x * u).sum()),
        sum_x_prey=float((x * w).sum()),
        sum_y_prex=float((y * u).sum()),
        sum_y_prey=float((y * w).sum()),
    )


def arm_data(rng: np.random.Generator, n: int, lift: float = 0.0) -> tuple[np.ndarray, ...]:
    """Per unit: pre-period calls w and tokens u, in-experiment calls y and tokens x, both
    driven by the unit's own level (so the two periods correlate)."""
    level = rng.lognormal(6.0, 0.5, n)
    w = rng.poisson(4, n) + 1.0
    u = w * level * rng.lognormal(0, 0.2, n)
    y = rng.poisson(4, n) + 1.0
    x = y * level * (1 + lift) * rng.lognormal(0, 0.2, n)
    return x, y, u, w


def numpy_reference(c: tuple[np.ndarray, ...], t: tuple[np.ndarray, ...]) -> dict[str, float]:
    """The same quantities from numpy's covariance matrices and a numerical gradient."""

    def grads(data: tuple[np.ndarray, ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        mx, my, pu, pw = (float(a.mean()) for a in data)
        post = np.array([1 / my, -mx / my**2, 0, 0])
        pre = np.array([0, 0, 1 / pw, -pu / pw**2])
        return post, pre, np.cov(np.vstack(data), ddof=1)

    (pc, qc, lc), (pt, qt, lt) = grads(c), grads(t)
    theta = (pc @ lc @ qc + pt @ lt @ qt) / (qc @ lc @ qc + qt @ lt @ qt)

    def estimate(means: np.ndarray) -> float:
        return float(means[0] / means[1] - theta * means[2] / means[3])

    mc = np.array([a.mean() for a in c])
    mt = np.array([a.mean() for a in t])

    def relative(v: np.ndarray) -> float:
        control, treatment = v[:4], v[4:]
        return (estimate(treatment) - estimate(control)) / (control[0] / control[1])

    both = np.concatenate([mc, mt])
    grad = np.zeros(8)
    for i in range(8):
        h = 1e-6 * abs(both[i])
        up, down = both.copy(), both.copy()
        up[i] += h
        down[i] -= h
        grad[i] = (relative(up) - relative(down)) / (2 * h)
    n_c, n_t = len(c[0]), len(t[0])
    var_c = (pc - theta * qc) @ lc @ (pc - theta * qc) / n_c
    var_t = (pt - theta * qt) @ lt @ (pt - theta * qt) / n_t
    var_rel = grad[:4] @ lc @ grad[:4] / n_c + grad[4:] @ lt @ grad[4:] / n_t
    var_raw = pc @ lc @ pc / n_c + pt @ lt @ pt / n_t
    return {
        "theta": float(theta),
        "abs_lift": estimate(mt) - estimate(mc),
        "abs_se": float(np.sqrt(var_c + var_t)),
        "rel_lift": relative(both),
        "rel_se": float(np.sqrt(var_rel)),
        "variance_reduction": float(1 - (var_c + var_t) / var_raw),
    }


def test_it_equals_numpys_covariances_and_a_numerical_gradient() -> None:
    rng = np.random.default_rng(7)
    c, t = arm_data(rng, 400), arm_data(rng, 380, lift=0.05)
    got = compare_cuped_ratio(moments(*c), moments(*t))
    ref = numpy_reference(c, t)
    assert cuped_ratio_theta(moments(*c), moments(*t)) == pytest.approx(ref["theta"], rel=1e-9)
    assert got.abs_lift == pytest.approx(ref["abs_lift"], rel=1e-9)
    assert got.abs_se == pytest.approx(ref["abs_se"], rel=1e-9)
    assert got.rel_lift == pytest.approx(ref["rel_lift"], rel=1e-9)
    assert got.rel_se == pytest.approx(ref["rel_se"], rel=1e-6)  # finite differences
    assert got.method == "cuped-delta-ratio"
    # The arms' values are their own ratios; the pre-period explains much of the variance.
    assert got.control_value == pytest.approx(c[0].sum() / c[1].sum(), rel=1e-12)
    assert got.variance_reduction == pytest.approx(ref["variance_reduction"], rel=1e-9)
    assert ref["variance_reduction"] > 0.3
    # The p-value is the t distribution's at the Welch df of the adjusted variances.
    assert got.df is not None
    t_stat = ref["abs_lift"] / ref["abs_se"]
    assert got.p_value == pytest.approx(2 * sp.t.sf(abs(t_stat), got.df), rel=1e-6)


def test_at_theta_zero_it_is_the_delta_method_ratio_test() -> None:
    rng = np.random.default_rng(3)
    c, t = arm_data(rng, 300), arm_data(rng, 300, lift=0.1)
    cuped = compare_cuped_ratio(moments(*c), moments(*t), theta=0.0)
    plain = compare_ratio(moments(*c).post, moments(*t).post)
    assert cuped.abs_lift == pytest.approx(plain.abs_lift, rel=1e-12)
    assert cuped.abs_ci == pytest.approx(plain.abs_ci, rel=1e-9)
    assert cuped.p_value == pytest.approx(plain.p_value, rel=1e-9)
    assert cuped.rel_lift == pytest.approx(plain.rel_lift, rel=1e-12)
    assert cuped.rel_ci == pytest.approx(plain.rel_ci, rel=1e-9)
    assert cuped.variance_reduction == pytest.approx(0.0, abs=1e-12)


def test_an_a_a_simulation_keeps_the_false_positive_rate_at_alpha() -> None:
    rng = np.random.default_rng(2026)
    runs, alpha = 2000, 0.05
    positives = sum(
        compare_cuped_ratio(moments(*arm_data(rng, 150)), moments(*arm_data(rng, 150))).p_value
        < alpha
        for _ in range(runs)
    )
    se = (alpha * (1 - alpha) / runs) ** 0.5
    assert abs(positives / runs - alpha) <= 3 * se


def test_without_a_pre_period_denominator_it_is_not_usable() -> None:
    rng = np.random.default_rng(1)
    x, y, u, w = arm_data(rng, 50)
    without = moments(x, y, u * 0, w * 0)
    assert not cuped_ratio_usable(without, moments(x, y, u, w))
    assert cuped_ratio_usable(moments(x, y, u, w), moments(*arm_data(rng, 50)))
    got = compare_cuped_ratio(without, moments(x, y, u, w))
    assert got.p_value == 1.0 and got.abs_ci is None and got.error


# --- in the computation ---------------------------------------------------------------------
def _simulate(experiment: Experiment, users: int, seed: int) -> dict[str, tuple[Any, ...]]:
    """Users with a token level; sessions (conversations) of calls before the start (for 80 %
    of them) and after their exposure; the treatment adds 10 % tokens. Per unit: (variant,
    tokens, calls, conversations) in the experiment, then the same before."""
    rng = random.Random(seed)
    env = experiment.environment
    start = experiment.started_at
    assert start is not None
    exposures, calls = [], []
    truth: dict[str, tuple[Any, ...]] = {}
    for i in range(users):
        user = f"cr{i}"
        variant = rng.choice(experiment.variants)
        level = rng.uniform(200, 2000)
        at = start + timedelta(hours=1, minutes=i % 50)
        exposures.append(_exposure(env, f"cr-x-{i}", at, experiment, variant, user))
        sums = {"post": [0, 0, 0], "pre": [0, 0, 0]}
        periods = [("post", at + timedelta(hours=1))]
        if rng.random() < 0.8:
            periods.append(("pre", start - timedelta(days=5)))
        for period, base in periods:
            for s in range(rng.randint(1, 3)):
                for q in range(rng.randint(1, 4)):
                    lift = 1.1 if period == "post" and variant != experiment.control else 1.0
                    tokens = int(level * lift * rng.uniform(0.7, 1.3))
                    when = base + timedelta(hours=s, minutes=q)
                    calls.append(
                        _call(
                            env,
                            f"cr-{period}-{i}-{s}-{q}",
                            f"{user}-{period}-{s}",
                            when,
                            user,
                            tokens,
                        )
                    )
                    sums[period][0] += tokens
                    sums[period][1] += 1
                sums[period][2] += 1
        truth[user] = (variant, *sums["post"], *sums["pre"])
    Exposure.objects.bulk_create(exposures)
    LlmCall.objects.bulk_create(calls)
    return truth


def _call(env: Any, event_id: str, conversation: str, at: Any, user: str, tokens: int) -> LlmCall:
    return LlmCall(
        environment=env,
        event_id=event_id,
        timestamp=at,
        received_at=at,
        request_id=event_id,
        conversation_id=conversation,
        user_key=user,
        model="gpt-4o",
        prompt_tokens=tokens,
        completion_tokens=0,
        latency_ms=500.0,
    )


@pytest.fixture
def experiment(demo: Any) -> Experiment:
    found = running_experiment(
        "cuped-ratio-test",
        primary_metric="tokens_per_query",
        secondary_metrics=["queries_per_session"],
        sequential=False,
    )
    Experiment.objects.filter(pk=found.pk).update(started_at=timezone.now() - timedelta(days=1))
    found.refresh_from_db()
    return found


@pytest.mark.django_db
def test_the_computation_adjusts_ratio_metrics_with_their_pre_period(
    experiment: Experiment,
) -> None:
    truth = _simulate(experiment, users=300, seed=17)
    result = experiment_compute_results(experiment_id=experiment.pk, refresh=True)
    assert result is not None
    rows = {r["metric"]: r for r in result.data["metrics"]}
    arms = {v: [u for u in truth.values() if u[0] == v] for v in ("gpt-4", "gpt-4-turbo")}

    def data(variant: str, post: tuple[int, int], pre: tuple[int, int]) -> tuple[np.ndarray, ...]:
        units = arms[variant]
        columns = (post[0], post[1], pre[0], pre[1])
        return tuple(np.array([u[k] for u in units], dtype=float) for k in columns)

    # tokens per query: x = tokens, y = calls; queries per session: x = calls, y = sessions
    # (the first call of each conversation, before the start too: the pre-period's lookup).
    for metric, post, pre in (
        ("tokens_per_query", (1, 2), (4, 5)),
        ("queries_per_session", (2, 3), (5, 6)),
    ):
        c = rows[metric]["comparisons"]["gpt-4-turbo"]
        assert c["method"] == "cuped-delta-ratio", metric
        assert rows[metric]["cuped_pre_period_days"] == 14
        ref = numpy_reference(data("gpt-4", post, pre), data("gpt-4-turbo", post, pre))
        assert c["abs_lift"] == pytest.approx(ref["abs_lift"], rel=1e-9), metric
        assert c["abs_se"] == pytest.approx(ref["abs_se"], rel=1e-9), metric
        assert c["rel_lift"] == pytest.approx(ref["rel_lift"], rel=1e-9), metric
    # Tokens per query: the unit's level before explains much of its level during.
    assert rows["tokens_per_query"]["comparisons"]["gpt-4-turbo"]["variance_reduction"] > 0.3
