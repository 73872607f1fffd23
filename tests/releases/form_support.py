"""The new-plan form and a draft's edit form as a browser posts them (releases/plan_form.py)."""

from __future__ import annotations

from typing import Any

Phase = tuple[str, str]  # audience, minimum hours
GateRow = tuple[str, str, str, str]  # metric, threshold, window minutes, minimum sample


def rows_data(phases: list[Phase], gates: list[GateRow], blank: int = 2) -> dict[str, Any]:
    """Rows as posted, with `blank` empty rows of each kind after them (as the form shows)."""
    data: dict[str, Any] = {}
    for i, (audience, hours) in enumerate([*phases, *[("", "")] * blank]):
        data |= {f"phase-{i}-audience": audience, f"phase-{i}-hours": hours, f"phase-{i}-name": ""}
    for i, (metric, threshold, window, sample) in enumerate([*gates, *[("", "", "", "")] * blank]):
        data |= {
            f"gate-{i}-metric": metric,
            f"gate-{i}-threshold": threshold,
            f"gate-{i}-window": window,
            f"gate-{i}-sample": sample,
        }
    return data


def new_plan_data(
    phases: list[Phase], gates: list[GateRow], *, environment: str = "dev", **fields: Any
) -> dict[str, Any]:
    return {
        "environment": environment,
        "template": "canary",
        "variant": "new",
        "replaces": "old",
        **rows_data(phases, gates),
        **fields,
    }
