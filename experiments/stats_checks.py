"""Experiment-level checks: sample ratio mismatch and multiple-comparison corrections.

Re-exported by `experiments.stats` (docs/experiments.md, "Statistics").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from scipy import special as _special

# Sample ratio mismatch is flagged below this p-value (GrowthBook's and Eppo's default).
SRM_THRESHOLD = 0.001


@dataclass(frozen=True)
class SrmResult:
    chi2: float
    p_value: float
    flagged: bool


def srm(observed: Sequence[int], expected_shares: Sequence[float]) -> SrmResult:
    """Chi-square goodness of fit of the units per arm against the configured allocation;
    flagged at p < 0.001."""
    if len(observed) != len(expected_shares) or len(observed) < 2:
        raise ValueError("observed and expected_shares need the same length, at least 2")
    total, share_sum = sum(observed), sum(expected_shares)
    if total == 0:
        return SrmResult(chi2=0.0, p_value=1.0, flagged=False)
    expected = [total * s / share_sum for s in expected_shares]
    chi2 = sum((o - e) ** 2 / e for o, e in zip(observed, expected, strict=True))
    p = float(_special.chdtrc(len(observed) - 1, chi2))
    return SrmResult(chi2=chi2, p_value=p, flagged=p < SRM_THRESHOLD)


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm (1979) step-down adjusted p-values, in the input order (family-wise error)."""
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    adjusted = [0.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[i]))
        adjusted[i] = running
    return adjusted


def benjamini_hochberg(p_values: Sequence[float]) -> list[float]:
    """Benjamini-Hochberg (1995) step-up adjusted p-values (q-values), in the input order
    (false discovery rate)."""
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i], reverse=True)
    adjusted = [0.0] * m
    running = 1.0
    for k, i in enumerate(order):
        rank = m - k  # 1-based rank in ascending order
        running = min(running, m * p_values[i] / rank)
        adjusted[i] = min(1.0, running)
    return adjusted


Correction = Literal["holm", "bh"]


def adjust(p_values: Sequence[float], method: Correction = "holm") -> list[float]:
    """Holm (the default) or Benjamini-Hochberg, by name."""
    return holm(p_values) if method == "holm" else benjamini_hochberg(p_values)
