"""Server-side SVG charts of the results page (no JavaScript, no internet): the forest plot of
relative lifts with their intervals, and the primary metric's lift over time. Python computes
coordinates; the templates draw them (CSS classes only, the CSP allows no inline styles)."""

from __future__ import annotations

import math
from typing import Any

FOREST_WIDTH = 640
FOREST_LABEL = 220  # left column for the metric names
FOREST_ROW = 30
TIME_WIDTH = 640
TIME_HEIGHT = 180
TIME_PAD = 36


def _verdict(comparison: dict[str, Any], direction: str) -> str:
    if not comparison.get("significant"):
        return "neutral"
    better = (comparison["abs_lift"] > 0) == (direction == "higher")
    return "good" if better else "bad"


def forest(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Rows of (label, lift %, CI %) for every metric and treatment with a relative CI."""
    items = []
    for row in rows:
        for variant, c in row["comparisons"].items():
            ci = c.get("rel_ci")
            if ci is None or c.get("rel_lift") is None:
                continue
            items.append(
                {
                    "label": f"{row['name']} ({variant})",
                    "lift": c["rel_lift"] * 100,
                    "lo": ci[0] * 100,
                    "hi": ci[1] * 100,
                    "verdict": _verdict(c, row["direction"]),
                }
            )
    if not items:
        return {"items": [], "height": 0}
    extent = max(max(abs(i["lo"]), abs(i["hi"])) for i in items)
    extent = min(max(5.0, math.ceil(extent / 5) * 5), 200.0)
    plot = FOREST_WIDTH - FOREST_LABEL - 20

    def x(value: float) -> float:
        value = max(-extent, min(extent, value))
        return round(FOREST_LABEL + (value + extent) / (2 * extent) * plot, 1)

    for n, item in enumerate(items):
        item |= {
            "y": n * FOREST_ROW + FOREST_ROW // 2 + 20,
            "x": x(item["lift"]),
            "x_lo": x(item["lo"]),
            "x_hi": x(item["hi"]),
        }
    height = len(items) * FOREST_ROW + 40
    ticks = [
        {"x": x(v), "label": f"{v:+.0f} %" if v else "0"} for v in (-extent, -extent / 2, 0)
    ] + [{"x": x(v), "label": f"{v:+.0f} %"} for v in (extent / 2, extent)]
    return {
        "items": items,
        "height": height,
        "width": FOREST_WIDTH,
        "zero": x(0),
        "axis_y": height - 14,
        "ticks": ticks,
        "label_x": FOREST_LABEL - 8,
    }


def over_time(
    history: list[tuple[str, dict[str, Any]]], metric: str, variant: str
) -> dict[str, Any]:
    """The relative lift of `variant` on `metric` and its interval at each snapshot
    (oldest first), as a polyline and a band."""
    points = []
    for when, data in history:
        row = next((r for r in data.get("metrics", []) if r["metric"] == metric), None)
        c = (row or {}).get("comparisons", {}).get(variant, {})
        if c.get("rel_lift") is not None and c.get("rel_ci") is not None:
            points.append((when, c["rel_lift"] * 100, c["rel_ci"][0] * 100, c["rel_ci"][1] * 100))
    if len(points) < 2:
        return {"points": len(points)}
    lo = min(min(p[2] for p in points), 0.0)
    hi = max(max(p[3] for p in points), 0.0)
    if hi - lo < 1e-9:
        hi = lo + 1
    inner_w, inner_h = TIME_WIDTH - 2 * TIME_PAD, TIME_HEIGHT - 2 * TIME_PAD

    def xy(i: int, v: float) -> tuple[float, float]:
        x = TIME_PAD + i / (len(points) - 1) * inner_w
        y = TIME_PAD + (hi - v) / (hi - lo) * inner_h
        return round(x, 1), round(y, 1)

    line = " ".join("{},{}".format(*xy(i, p[1])) for i, p in enumerate(points))
    upper = ["{},{}".format(*xy(i, p[3])) for i, p in enumerate(points)]
    lower = ["{},{}".format(*xy(i, p[2])) for i, p in enumerate(points)]
    band = " ".join(upper + lower[::-1])
    return {
        "points": len(points),
        "width": TIME_WIDTH,
        "height": TIME_HEIGHT,
        "line": line,
        "band": band,
        "zero_y": xy(0, 0.0)[1],
        "left": TIME_PAD,
        "right": TIME_WIDTH - TIME_PAD,
        "top_label": f"{hi:+.1f} %",
        "bottom_label": f"{lo:+.1f} %",
        "first": points[0][0],
        "last": points[-1][0],
        "bottom": TIME_HEIGHT - 8,
    }
