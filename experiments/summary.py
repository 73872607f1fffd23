"""Reading a snapshot for people: guardrail status and the plain-language summary
("Treatment lowers hallucination rate by 1.2 pp (95 % CI 0.4 to 2.0); cost per query +8 %; no
guardrail breached")."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from .models import Experiment


def value_format(value: float | None, fmt: str) -> str:
    if value is None:
        return "–"
    if fmt == "percent":
        return f"{value * 100:.2f} %"
    if fmt == "ms":
        return f"{value:,.0f} ms"
    if fmt == "usd":
        return f"${value:.5f}"
    return f"{value:,.3g}" if abs(value) < 1000 else f"{value:,.0f}"


def lift_format(abs_lift: float, fmt: str) -> str:
    """An absolute difference in the metric's unit (percentage points for rates)."""
    if fmt == "percent":
        return f"{abs(abs_lift) * 100:.2f} pp"
    if fmt == "ms":
        return f"{abs(abs_lift):,.0f} ms"
    if fmt == "usd":
        return f"${abs(abs_lift):.5f}"
    return f"{abs(abs_lift):.3g}"


def _ci_format(ci: list[float] | tuple[float, float], fmt: str) -> str:
    lo, hi = ci
    if fmt == "percent":
        return f"{lo * 100:.2f} to {hi * 100:.2f} pp"
    return f"{lo:.3g} to {hi:.3g}"


def guardrails_check(experiment: Experiment, data: dict[str, Any]) -> list[dict[str, Any]]:
    """Each guardrail per treatment: breached when the treatment's whole (1 - alpha) interval
    lies beyond the bound (one unlucky early error is not a breach), with at least
    FLAGSITE_GUARDRAIL_MIN_EVENTS observations. `over` says the point estimate is beyond it
    (shown as a warning)."""
    rows = {row["metric"]: row for row in data["metrics"]}
    minimum = settings.FLAGSITE_GUARDRAIL_MIN_EVENTS
    out = []
    for guardrail in experiment.guardrails:
        row = rows.get(guardrail["metric"])
        if row is None:
            continue
        for variant in experiment.treatments:
            observed = row["values"].get(variant, {})
            value, n = observed.get("value"), observed.get("n", 0)
            above = guardrail.get("max") is not None
            bound = guardrail["max"] if above else guardrail["min"]
            over = value is not None and (value > bound if above else value < bound)
            edge = observed.get("lo") if above else observed.get("hi")
            sure = edge is not None and (edge > bound if above else edge < bound)
            breached = bool(sure and n >= minimum)
            limit = f"{'≤' if above else '≥'} {value_format(bound, row['format'])}"
            out.append(
                {
                    "metric": row["metric"],
                    "name": row["name"],
                    "variant": variant,
                    "value": value,
                    "n": n,
                    "bound": bound,
                    "limit": limit,
                    "breached": breached,
                    "over": bool(over),
                    "enough_data": n >= minimum,
                    "text": f"{row['name']} of {variant} is {value_format(value, row['format'])}"
                    f" (limit {limit}, n = {n}).",
                }
            )
    return out


def summary_text(experiment: Experiment, data: dict[str, Any]) -> str:
    parts: list[str] = []
    if data["srm"]["flagged"]:
        parts.append("Sample ratio mismatch: these results are not trustworthy until explained")
    confidence = round((1 - data["alpha"]) * 100)
    for row in data["metrics"]:
        if row["role"] == "guardrail":
            continue
        for variant, c in row["comparisons"].items():
            name = row["name"][0].lower() + row["name"][1:]
            if row["role"] == "primary":
                if c.get("abs_ci") is None:
                    why = c.get("error") or "not enough data"
                    parts.append(f"{variant}: no test of {name} yet ({why})")
                    continue
                verb = "raises" if c["abs_lift"] > 0 else "lowers"
                lift = lift_format(c["abs_lift"], row["format"])
                ci = _ci_format(c["abs_ci"], row["format"])
                verdict = "significant" if c.get("significant") else "not significant"
                parts.append(
                    f"{variant.capitalize()} {verb} {name} by {lift} "
                    f"({confidence} % CI {ci}; {verdict})"
                )
            elif c.get("rel_lift") is not None:
                parts.append(f"{name} {c['rel_lift'] * 100:+.0f} % ({variant})")
    breached = [g for g in data["guardrails"] if g["breached"]]
    if breached:
        parts.append(
            "guardrail breached: " + ", ".join(f"{g['name']} ({g['variant']})" for g in breached)
        )
    else:
        parts.append("no guardrail breached")
    text = "; ".join(parts)
    return text[0].upper() + text[1:] if text else text
