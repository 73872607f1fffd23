"""A plan's phases and gates as editable rows (the new-plan form and a draft's edit page;
docs/rollouts.md, "On the page").

A phase row is a name, an audience (`5 %`, a segment key, several joined by `+`, or
`complete`) and a minimum observation time in hours; a gate row is a metric, a threshold (as
the metric reports it: 0.05 = 5 %), a window in minutes, a minimum sample and "compare with
control". Rows become the API's JSON shape and go through `releases.validation` like an API
request: the page has no validator of its own. Rows with a blank audience (phases) or no metric
(gates) are dropped, so the form works without JavaScript with a few blank rows;
static/ui/plan_rows.js adds and removes rows.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from experiments.metrics import metrics_list
from experiments.outcomes import SOURCES as OUTCOME_SOURCES

from .models import Gate, Phase
from .templates_builtin import HOUR, GateSpec, PhaseSpec
from .validation import MAX_GATES, MAX_PHASES, plan_specs_parse

BLANK_PHASES = 3  # blank rows shown after the plan's (without JavaScript: room to add)
BLANK_GATES = 2
_ROW = re.compile(r"^(phase|gate)-(\d{1,3})-([a-z]+)$")
_PATH = re.compile(r"^(phases|gates)\[(\d+)\]\.(\w+)$")
LABELS = {
    "percentage": "percentage",
    "segments": "segment",
    "completes": "complete",
    "min_duration_seconds": "minimum hours",
    "name": "name",
    "metric": "metric",
    "threshold": "threshold",
    "window_seconds": "window minutes",
    "min_sample": "minimum sample",
    "compare_with_control": "compare with control",
}


@dataclass
class PhaseRow:
    name: str = ""
    audience: str = ""
    hours: str = ""
    errors: list[str] = field(default_factory=list)


@dataclass
class GateRow:
    metric: str = ""
    threshold: str = ""
    window: str = ""
    sample: str = ""
    control: bool = False
    errors: list[str] = field(default_factory=list)


def _number(value: Decimal | float | int) -> str:
    return f"{Decimal(str(value)).normalize():f}"


def phase_rows_from(phases: Iterable[PhaseSpec | Phase]) -> list[PhaseRow]:
    rows = []
    for p in phases:
        parts = list(p.segments)
        if p.percentage is not None:
            parts.append(f"{_number(p.percentage)} %")
        if p.completes:
            parts = ["complete"]
        rows.append(
            PhaseRow(
                name=p.name,
                audience=" + ".join(parts),
                hours=_number(Decimal(p.min_duration_seconds) / HOUR),
            )
        )
    return rows


def gate_rows_from(gates: Iterable[GateSpec | Gate]) -> list[GateRow]:
    return [
        GateRow(
            metric=g.metric,
            threshold=_number(g.threshold),
            window=_number(Decimal(g.window_seconds) / 60),
            sample=str(g.min_sample),
            control=g.compare_with_control,
        )
        for g in gates
    ]


def rows_parse(data: Mapping[str, Any]) -> tuple[list[PhaseRow], list[GateRow]]:
    """The posted rows in their order; blank ones dropped."""
    found: dict[tuple[str, int], dict[str, str]] = {}
    for name in data:
        match = _ROW.match(name)
        if match:
            kind, index, part = match.groups()
            found.setdefault((kind, int(index)), {})[part] = str(data.get(name, "")).strip()
    phases, gates = [], []
    for (kind, _), parts in sorted(found.items()):
        if kind == "phase" and parts.get("audience"):
            phases.append(
                PhaseRow(parts.get("name", ""), parts["audience"], parts.get("hours", ""))
            )
        elif kind == "gate" and parts.get("metric"):
            gates.append(
                GateRow(
                    metric=parts["metric"],
                    threshold=parts.get("threshold", ""),
                    window=parts.get("window", ""),
                    sample=parts.get("sample", ""),
                    control=bool(parts.get("control")),
                )
            )
    return phases, gates


def rows_posted(data: Mapping[str, Any], kind: str) -> bool:
    """Whether any `kind` row ("phase", "gate") was posted at all: a form (or a script) that
    posts none gets the template's phases or the default gates, as before the rows existed."""
    return any(name.startswith(f"{kind}-") and _ROW.match(name) for name in data)


def _scaled(text: str, factor: int) -> Any:
    """Hours or minutes as whole seconds; anything else goes on as typed, for the serializer
    to name."""
    try:
        return int(Decimal(text) * factor)
    except (InvalidOperation, ValueError):
        return text


def _is_number(text: str) -> bool:
    try:
        Decimal(text)
    except InvalidOperation:
        return False
    return True


def _phase_data(row: PhaseRow) -> dict[str, Any]:
    data: dict[str, Any] = {"name": row.name or row.audience[:100], "segments": []}
    data["min_duration_seconds"] = _scaled(row.hours, HOUR) if row.hours else 0
    for part in (p.strip() for p in row.audience.split("+")):
        if part.lower() == "complete":
            data["completes"] = True
        elif part.endswith("%") or _is_number(part):
            data["percentage"] = part.rstrip("%").strip()
        elif part:
            data["segments"].append(part)
    return data


def _gate_data(row: GateRow) -> dict[str, Any]:
    return {
        "metric": row.metric,
        "threshold": row.threshold,
        "window_seconds": _scaled(row.window, 60),
        "min_sample": row.sample or 0,
        "compare_with_control": row.control,
    }


def error_label(path: str) -> str:
    """`phases[2].percentage` -> `Phase 3, percentage` (the page's name for an API path)."""
    match = _PATH.match(path)
    if not match:
        return {"phases": "Phases", "gates": "Gates"}.get(path, path.capitalize())
    kind, index, name = match.groups()
    return f"{kind[:-1].capitalize()} {int(index) + 1}, {LABELS.get(name, name)}"


def rows_specs(
    phases: list[PhaseRow], gates: list[GateRow]
) -> tuple[list[PhaseSpec], list[GateSpec]]:
    """The rows as specs, read by the API's serializers (ConfigError if refused)."""
    return plan_specs_parse(
        phases=[_phase_data(r) for r in phases], gates=[_gate_data(r) for r in gates]
    )


def rows_errors(
    errors: list[tuple[str, str]], phases: list[PhaseRow], gates: list[GateRow]
) -> list[tuple[str, str]]:
    """Each refusal named for people ("Phase 3, percentage: ..."); a row's own errors are also
    set on the row. Paths that are not phases or gates come back as they are."""
    named = []
    for path, message in errors:
        match = _PATH.match(path)
        if match:
            rows: list[Any] = phases if match.group(1) == "phases" else gates
            index = int(match.group(2))
            if index < len(rows):
                rows[index].errors.append(
                    f"{LABELS.get(match.group(3), match.group(3))}: {message}"
                )
        named.append((error_label(path) if path.startswith(("phases", "gates")) else path, message))
    return named


def rows_context(
    phases: list[PhaseRow], gates: list[GateRow], *, gates_fixed: bool = False
) -> dict[str, Any]:
    """What templates/releases/_plan_rows.html needs: the rows and a few blank ones (none when
    `gates_fixed`: a started plan's gates, only re-tuned)."""
    if gates_fixed:
        return {"gate_rows": gates, "gates_fixed": True, "max_gates": len(gates)}
    phase_rows = [*phases, *(PhaseRow() for _ in range(BLANK_PHASES))][
        : max(MAX_PHASES, len(phases))
    ]
    gate_rows = [*gates, *(GateRow() for _ in range(BLANK_GATES))][: max(MAX_GATES, len(gates))]
    metrics = [m for m in metrics_list() if m.source in OUTCOME_SOURCES]
    return {
        "phase_rows": phase_rows,
        "gate_rows": gate_rows,
        "gate_metrics": metrics,
        "gate_metric_keys": {m.key for m in metrics},
        "max_phases": MAX_PHASES,
        "max_gates": MAX_GATES,
    }
