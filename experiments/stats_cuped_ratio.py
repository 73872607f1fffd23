"""CUPED on ratio metrics (regression adjustment of a ratio by the same ratio before the
experiment): the delta method on the per-unit vector (x, y, pre x, pre y). Re-exported by
`experiments.stats`; formulas and references in docs/experiments.md, "CUPED on ratio metrics".

Per arm the estimate is R − θ·R_pre (R = Σx/Σy in the experiment, R_pre the same ratio over
the pre-period), whose variance is ∇ᵀΛ∇ / n with Λ the unit-level covariance matrix of
(x, y, pre x, pre y) and ∇ = (1/ȳ, −x̄/ȳ², −θ/ȳ_pre, θ·x̄_pre/ȳ_pre²) (Deng, Knoblich, Lu 2018
for the linearised ratio; Deng et al. 2013 for θ). θ = Σ Cov(L, L_pre) / Σ Var(L_pre) over
both arms, L and L_pre the linearised ratios, as gbstats fits it. The lift is the difference
of the adjusted estimates; the relative lift divides it by the control's own ratio, with the
delta method's variance for that quotient (the control's R appears in both).
"""

from __future__ import annotations

from dataclasses import replace

from experiments.stats_compare import Comparison, _cohens_d, _compare, no_denominator
from experiments.stats_moments import CupedRatioMoments

Vector = tuple[float, float, float, float]


def _quad(a: Vector, matrix: list[list[float]], b: Vector) -> float:
    """aᵀ·matrix·b."""
    return sum(a[i] * matrix[i][j] * b[j] for i in range(4) for j in range(4))


def _means(m: CupedRatioMoments) -> Vector:
    n = m.n or 1
    return (m.post.sum_x / n, m.post.sum_y / n, m.pre.sum_x / n, m.pre.sum_y / n)


def _gradients(m: CupedRatioMoments) -> tuple[Vector, Vector]:
    """The linearised ratios' gradients over (x, y, pre x, pre y): in the experiment, before."""
    mx, my, px, py = _means(m)
    post = (1 / my, -mx / (my * my), 0.0, 0.0) if my else (0.0, 0.0, 0.0, 0.0)
    pre = (0.0, 0.0, 1 / py, -px / (py * py)) if py else (0.0, 0.0, 0.0, 0.0)
    return post, pre


def _theta_parts(m: CupedRatioMoments) -> tuple[float, float]:
    """(Cov(L, L_pre), Var(L_pre)) of one arm, per unit."""
    matrix = m.covariance()
    post, pre = _gradients(m)
    return _quad(post, matrix, pre), _quad(pre, matrix, pre)


def cuped_ratio_theta(control: CupedRatioMoments, treatment: CupedRatioMoments) -> float:
    """θ = (Cov_c(L, L_pre) + Cov_t(L, L_pre)) / (Var_c(L_pre) + Var_t(L_pre)); 0 without
    pre-period variance."""
    (cov_c, var_c), (cov_t, var_t) = _theta_parts(control), _theta_parts(treatment)
    return (cov_c + cov_t) / (var_c + var_t) if var_c + var_t > 0 else 0.0


def _usable(m: CupedRatioMoments) -> bool:
    return m.n >= 2 and bool(m.post.sum_y) and bool(m.pre.sum_y)


def compare_cuped_ratio(
    control: CupedRatioMoments,
    treatment: CupedRatioMoments,
    alpha: float = 0.05,
    *,
    sequential_tuning: float | None = None,
    bayesian: bool = True,
    theta: float | None = None,
) -> Comparison:
    """CUPED on a ratio metric (module docstring). The arms' values are their own ratios.
    An arm without a denominator in either period gives the no-denominator result (callers
    check `cuped_ratio_usable` first and compare such arms without adjustment).
    `variance_reduction` is 1 − Var(lift')/Var(lift)."""
    method = "cuped-delta-ratio"
    if not (_usable(control) and _usable(treatment)):
        return no_denominator(
            values=(control.post.ratio, treatment.post.ratio),
            n=(control.n, treatment.n),
            alpha=alpha,
            method=method,
            tuning=sequential_tuning,
        )
    if theta is None:
        theta = cuped_ratio_theta(control, treatment)

    def arm(m: CupedRatioMoments) -> tuple[float, float, Vector, list[list[float]]]:
        """(adjusted estimate, its variance, ∇, Λ)."""
        matrix = m.covariance()
        post, pre = _gradients(m)
        grad = (post[0], post[1], -theta * pre[2], -theta * pre[3])
        estimate = m.post.ratio - theta * m.pre.ratio
        return estimate, max(_quad(grad, matrix, grad), 0.0) / m.n, grad, matrix

    est_c, var_c, grad_c, matrix_c = arm(control)
    est_t, var_t, grad_t, matrix_t = arm(treatment)
    raw_c, raw_t = control.post.ratio, treatment.post.ratio
    # Relative lift g / |R_c| with g = est_t − est_c: the control's ratio R_c = x̄/ȳ is in both.
    lift = est_t - est_c
    var_rel = None
    if raw_c:
        base = abs(raw_c)
        sign = 1.0 if raw_c > 0 else -1.0
        _, my, _, _ = _means(control)
        k = (base + sign * lift) / (raw_c * raw_c)
        rel_c: Vector = (
            -k / my,
            k * raw_c / my,
            -grad_c[2] / base,
            -grad_c[3] / base,
        )
        rel_t: Vector = (grad_t[0] / base, grad_t[1] / base, grad_t[2] / base, grad_t[3] / base)
        var_rel = (
            _quad(rel_c, matrix_c, rel_c) / control.n + _quad(rel_t, matrix_t, rel_t) / treatment.n
        )
    raw_vc, raw_vt = control.post.ratio_variance, treatment.post.ratio_variance
    result = _compare(
        est_c=est_c,
        var_c=var_c,
        n_c=control.n,
        est_t=est_t,
        var_t=var_t,
        n_t=treatment.n,
        alpha=alpha,
        method=method,
        tuning=sequential_tuning,
        effect_size=_cohens_d(raw_t - raw_c, raw_vc * control.n, raw_vt * treatment.n),
        bayesian=bayesian,
        values=(raw_c, raw_t),
        var_rel=var_rel,
    )
    raw_var = raw_vc + raw_vt
    reduction = 1 - (var_c + var_t) / raw_var if raw_var > 0 else 0.0
    return replace(result, variance_reduction=reduction)


def cuped_ratio_usable(
    control: CupedRatioMoments | None, treatment: CupedRatioMoments | None
) -> bool:
    """Where data allows: both arms with two units and a denominator in both periods, and
    some variance of the pre-period ratio to adjust with."""
    if control is None or treatment is None:
        return False
    if not (_usable(control) and _usable(treatment)):
        return False
    return _theta_parts(control)[1] + _theta_parts(treatment)[1] > 0
