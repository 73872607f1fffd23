"""The SVG chart's arithmetic: round axis tops, stacked heights proportional to spend, and the
sixth and later groups folded into "other"."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from costs.charts import HEIGHT, OTHER, _nice_peak, stacked_cost_chart

D = Decimal


@pytest.mark.parametrize(
    ("peak", "axis"),
    [
        (D("0"), D("1")),
        (D("0.03"), D("0.05")),
        (D("1"), D("1")),
        (D("1.2"), D("2")),
        (D("3.5"), D("5")),
        (D("7"), D("10")),
        (D("420"), D("500")),
    ],
)
def test_the_axis_top_is_1_2_or_5_times_a_power_of_ten(peak: Decimal, axis: Decimal) -> None:
    assert _nice_peak(peak) == axis


def test_bars_stack_in_proportion_and_extra_groups_become_other() -> None:
    starts = [datetime(2026, 11, 20, tzinfo=UTC) + timedelta(hours=h) for h in range(3)]
    series = {f"m{i}": [D(i + 1), D(0), D(0)] for i in range(7)}  # m6 costs most
    chart = stacked_cost_chart(series, starts)
    assert chart.peak == D(50)  # 1 + 2 + ... + 7 = 28 -> 50
    first = chart.bars[0]
    assert [r.group for r in first.rects] == ["m6", "m5", "m4", "m3", "m2", OTHER]
    other = first.rects[-1]
    assert other.cost == D(3)  # m1 + m0
    plot = HEIGHT - 18 - 8
    assert other.h == pytest.approx(plot * 3 / 50, abs=0.01)
    assert sum(r.h for r in first.rects) == pytest.approx(plot * 28 / 50, abs=0.05)
    assert chart.bars[1].rects == [] and chart.bars[1].label == "2026-11-20 01:00"
    assert [label for _, label in chart.ticks] == ["$0.00", "$25.00", "$50.00"]
