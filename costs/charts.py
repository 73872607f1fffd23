"""Server-side SVG charts for the cost page: numbers in, rectangles out. No script, no inline
style (the CSP allows neither); colours come from the `.series-N` classes in app.css."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

WIDTH = 720
HEIGHT = 180
LEFT = 56  # room for the y-axis labels
BOTTOM = 18  # room for the x-axis labels
TOP = 8  # room for the top tick's label
SERIES_COLOURS = 6  # .series-0 ... .series-5 in app.css
MAX_SERIES = 5  # the rest is stacked as "other"
OTHER = "other"


@dataclass
class Rect:
    y: float
    h: float
    series: int
    group: str
    cost: Decimal


@dataclass
class Bar:
    x: float
    w: float
    label: str
    total: Decimal
    rects: list[Rect] = field(default_factory=list)


@dataclass
class Chart:
    bars: list[Bar]
    groups: list[tuple[str, int, Decimal]]  # legend: (group, series, cost)
    peak: Decimal
    ticks: list[tuple[float, str]]  # (y, "$1.23")
    x_labels: list[tuple[float, str]]
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    plot_bottom: int = HEIGHT - BOTTOM


def _nice_peak(peak: Decimal) -> Decimal:
    """The smallest 1, 2 or 5 x 10^k at or above `peak` (so the axis reads in round dollars)."""
    if peak <= 0:
        return Decimal(1)
    step = Decimal(10) ** (peak.adjusted())
    for m in (1, 2, 5, 10):
        if step * m >= peak:
            return step * m
    return step * 10


def _money(value: Decimal) -> str:
    return f"${value:,.2f}" if value >= Decimal("0.1") or value == 0 else f"${value:.4f}"


def stacked_cost_chart(series: dict[str, list[Decimal]], starts: list[datetime]) -> Chart:
    """Stacked bars of cost per bucket; the five most expensive groups get a colour each, the
    rest is one "other" band."""
    order = sorted(series, key=lambda g: (-sum(series[g]), g))
    shown, rest = order[:MAX_SERIES], order[MAX_SERIES:]
    n = len(starts)
    stacks: dict[str, list[Decimal]] = {g: series[g] for g in shown}
    if rest:
        stacks[OTHER] = [sum((series[g][i] for g in rest), Decimal(0)) for i in range(n)]
    names = list(stacks)
    totals = [sum((stacks[g][i] for g in names), Decimal(0)) for i in range(n)]
    peak = _nice_peak(max(totals, default=Decimal(0)))
    plot_h = HEIGHT - BOTTOM - TOP
    width = (WIDTH - LEFT) / max(n, 1)
    daily = n < 2 or starts[1] - starts[0] >= timedelta(days=1)
    bars = []
    for i, start in enumerate(starts):
        y = float(TOP + plot_h)
        bar = Bar(
            x=round(LEFT + i * width + 1, 2),
            w=round(max(width - 2, 1), 2),
            label=start.strftime("%Y-%m-%d" if daily else "%Y-%m-%d %H:00"),
            total=totals[i],
        )
        for g in names:
            cost = stacks[g][i]
            if cost <= 0:
                continue
            h = plot_h * float(cost / peak)
            y -= h
            bar.rects.append(
                Rect(round(y, 2), round(h, 2), names.index(g) % SERIES_COLOURS, g, cost)
            )
        bars.append(bar)
    ticks = [
        (round(TOP + plot_h * (1 - f), 2), _money(peak * Decimal(str(f)))) for f in (0, 0.5, 1)
    ]
    step = max(1, n // 6)
    x_labels = [
        (round(LEFT + i * width + width / 2, 2), starts[i].strftime("%b %d" if daily else "%H:00"))
        for i in range(0, n, step)
    ]
    groups = [(g, names.index(g) % SERIES_COLOURS, sum(stacks[g], Decimal(0))) for g in names]
    return Chart(bars, groups, peak, ticks, x_labels)
