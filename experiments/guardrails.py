"""Guardrails as people edit them (docs/experiments.md, "Guardrails").

Stored on the experiment as `[{"metric": key, "max": x}]` for a lower-is-better metric and
`[{"metric": key, "min": x}]` for a higher-is-better one, in the metric's own unit (a percent
metric as a fraction: 0.001 is 0.1 %); experiments.summary compares each treatment with it.

The create form and the experiment page show one row per guardrail (metric + threshold); a
percent metric's threshold is typed in percent and stored as a fraction. Blank rows are ignored,
so the form works without JavaScript with a fixed number of rows (static/ui/guardrails.js adds
and removes rows). `guardrails_validate` is the one validator (form, page and management API).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction

from flags import policy
from flags.changes import Actor, audit_record
from flagsite.storable import text_unstorable, unstorable_in

from .metrics import DEFAULT_GUARDRAILS, Metric, metric_get, metrics_list
from .models import Experiment, Status

MAX_GUARDRAILS = 10  # per experiment (docs/experiments.md)
FORM_ROWS = 8  # rows the form shows without JavaScript (more when an experiment has more)
MAX_THRESHOLD = 1e9  # any metric other than a percent one (ms, USD, counts)
UNITS = {"percent": "%", "ms": "ms", "usd": "USD", "number": ""}
_ROW_FIELD = re.compile(r"^guardrail-(\d{1,3})-(metric|threshold)$")


class GuardrailError(Exception):
    """Refused guardrails: `errors` is a list of (field, message); field `guardrails[i]` for
    the API, `guardrail-<i>-metric` / `-threshold` for the form rows."""

    def __init__(self, errors: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{f}: {m}" for f, m in errors))
        self.errors = errors


def bound_of(metric: Metric) -> str:
    """The side a guardrail watches: lower-is-better metrics get a maximum."""
    return "max" if metric.direction == "lower" else "min"


def unit_label(metric: Metric) -> str:
    return UNITS.get(metric.format, "")


def _get(key: str, allowed_archived: set[str]) -> Metric:
    return metric_get(key, archived=key in allowed_archived)


def guardrails_validate(
    guardrails: Any, *, allowed_archived: set[str] | None = None
) -> list[dict[str, Any]]:
    """The stored form of guardrails given as `[{metric, max | min}]` (the API's shape, values
    in the metric's own unit). `allowed_archived`: archived metrics an experiment already
    watches (it may keep them; nobody may add one)."""
    keep = allowed_archived or set()
    unstorable = unstorable_in(guardrails, "guardrails")
    if unstorable:
        raise GuardrailError([unstorable])
    if not isinstance(guardrails, list):
        raise GuardrailError([("guardrails", "A list of {metric, max or min}.")])
    if len(guardrails) > MAX_GUARDRAILS:
        raise GuardrailError(
            [("guardrails", f"At most {MAX_GUARDRAILS} guardrails (got {len(guardrails)}).")]
        )
    errors: list[tuple[str, str]] = []
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for i, guardrail in enumerate(guardrails):
        path = f"guardrails[{i}]"
        if not isinstance(guardrail, Mapping) or not isinstance(guardrail.get("metric"), str):
            errors.append((path, "Each guardrail is {metric, max or min}."))
            continue
        key = guardrail["metric"]
        try:
            metric = _get(key, keep)
        except KeyError:
            errors.append((path, f"Unknown or archived metric {key[:64]!r}."))
            continue
        if key in seen:
            errors.append((path, f"{metric.name} has a guardrail already."))
            continue
        seen.add(key)
        bounds = [b for b in ("max", "min") if guardrail.get(b) is not None]
        if len(bounds) != 1:
            errors.append((path, "Each guardrail has one number: max or min."))
            continue
        value = guardrail[bounds[0]]
        problem = threshold_problem(metric, value)
        if problem:
            errors.append((path, problem))
            continue
        out.append({"metric": key, bounds[0]: float(value)})
    if errors:
        raise GuardrailError(errors)
    return out


def threshold_problem(metric: Metric, value: Any) -> str:
    """What is wrong with a stored threshold ('' when nothing)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "The threshold is a number."
    if not math.isfinite(value) or value < 0:
        return "The threshold is a finite number, 0 or more."
    top = 1.0 if metric.format == "percent" else MAX_THRESHOLD
    if value > top:
        shown = "100 %" if metric.format == "percent" else f"{MAX_THRESHOLD:,.0f}"
        return f"The threshold is at most {shown}."
    return ""


# --- the form rows ------------------------------------------------------------------------


@dataclass
class Row:
    index: int
    metric: str = ""
    threshold: str = ""
    errors: list[str] = field(default_factory=list)
    sign: str = ""  # ≤ or ≥, for the chosen metric (filled by rows_labelled)
    unit: str = ""

    @property
    def number(self) -> int:
        """The row as people count it (1-based), in error messages."""
        return self.index + 1


def _shown(metric: Metric, value: float) -> str:
    """A stored threshold as the form shows it (percent metrics in percent)."""
    if metric.format == "percent":
        value *= 100
    return f"{value:.10g}"


def rows_from(guardrails: list[dict[str, Any]]) -> list[Row]:
    rows = []
    for i, g in enumerate(guardrails):
        bound = "max" if g.get("max") is not None else "min"
        try:
            metric = metric_get(g["metric"])
        except KeyError:
            rows.append(Row(i, g["metric"], str(g.get(bound, ""))))
            continue
        rows.append(Row(i, g["metric"], _shown(metric, float(g[bound]))))
    return rows


def rows_default() -> list[Row]:
    return rows_from([dict(g) for g in DEFAULT_GUARDRAILS])


def rows_padded(rows: list[Row]) -> list[Row]:
    """The rows plus blank ones: FORM_ROWS in all, or one more than filled, up to the limit."""
    filled = [r for r in rows if r.metric or r.threshold or r.errors]
    count = min(MAX_GUARDRAILS, max(FORM_ROWS, len(filled) + 1))
    out = [Row(i, r.metric, r.threshold, r.errors) for i, r in enumerate(filled)]
    return out + [Row(i) for i in range(len(out), max(count, len(out)))]


def rows_parse(data: Mapping[str, Any]) -> list[Row]:
    """The posted rows (`guardrail-<i>-metric`, `guardrail-<i>-threshold`), in index order."""
    found: dict[int, Row] = {}
    for name in data:
        match = _ROW_FIELD.match(name)
        if not match:
            continue
        index = int(match[1])
        row = found.setdefault(index, Row(index))
        value = str(data.get(name, "")).strip()[:100]
        setattr(row, match[2], value)
    return [found[i] for i in sorted(found)]


def _threshold_parse(row: Row, metric: Metric) -> float | None:
    label = f"Guardrail row {row.number}, threshold"
    text = row.threshold.replace(",", "").replace("\u202f", "").replace(" ", "")
    if metric.format == "percent":
        text = text.removesuffix("%")
    if not text:
        row.errors.append(f"{label}: enter a number for {metric.name}.")
        return None
    try:
        value = float(text)
    except ValueError:
        row.errors.append(f"{label}: {row.threshold[:20]!r} is not a number.")
        return None
    top = 100.0 if metric.format == "percent" else MAX_THRESHOLD
    if not math.isfinite(value) or value < 0 or value > top:
        unit = " %" if metric.format == "percent" else f" {unit_label(metric)}".rstrip()
        row.errors.append(f"{label}: a number from 0 to {top:,.0f}{unit}.")
        return None
    if metric.format == "percent":
        value = float(f"{value / 100:.12g}")
    return value


def rows_clean(
    rows: list[Row], *, allowed_archived: set[str] | None = None
) -> tuple[list[dict[str, Any]], list[str]]:
    """The stored guardrails of the posted rows (blank rows ignored) and the errors, each
    naming its row and field ("Guardrail row 3, metric: ..."); errors also land on the rows."""
    keep = allowed_archived or set()
    filled = [r for r in rows if r.metric or r.threshold]
    errors: list[str] = []
    if len(filled) > MAX_GUARDRAILS:
        errors.append(f"Guardrails: at most {MAX_GUARDRAILS} (got {len(filled)}).")
        return [], errors
    out: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    for row in filled:
        label = f"Guardrail row {row.number}, metric"
        if not row.metric:
            row.errors.append(f"{label}: choose a metric (or clear the threshold).")
            continue
        try:
            metric = _get(row.metric, keep)
        except KeyError:
            row.errors.append(f"{label}: unknown or archived metric {row.metric[:64]!r}.")
            continue
        if row.metric in seen:
            row.errors.append(
                f"{label}: {metric.name} is already watched by row {seen[row.metric]}."
            )
            continue
        seen[row.metric] = row.number
        value = _threshold_parse(row, metric)
        if value is not None:
            out.append({"metric": row.metric, bound_of(metric): value})
    errors += [e for r in rows for e in r.errors]
    return out, errors


def metric_options(*, extra: set[str] | None = None) -> list[dict[str, str]]:
    """The picker: every metric new experiments may use (archived ones only when in `extra`,
    i.e. already watched), with its bound and unit for the label and static/ui/guardrails.js."""
    metrics = {m.key: m for m in metrics_list()}
    for key in sorted(extra or set()):
        if key not in metrics:
            try:
                metrics[key] = metric_get(key)
            except KeyError:
                continue
    return [
        {
            "key": m.key,
            "name": m.name,
            "bound": bound_of(m),
            "sign": "≤" if bound_of(m) == "max" else "≥",
            "unit": unit_label(m),
        }
        for m in metrics.values()
    ]


def rows_labelled(rows: list[Row], options: list[dict[str, str]]) -> list[Row]:
    """The form's rows (padded with blank ones), each with its metric's sign and unit."""
    by_key = {o["key"]: o for o in options}
    out = rows_padded(rows)
    for row in out:
        option = by_key.get(row.metric)
        if option:
            row.sign, row.unit = option["sign"], option["unit"]
    return out


def guardrails_display(guardrails: list[dict[str, Any]]) -> list[dict[str, str]]:
    """The experiment page's list: "Error rate ≤ 1 %" (thresholds in the form's units)."""
    out = []
    for g, row in zip(guardrails, rows_from(guardrails), strict=True):
        try:
            metric = metric_get(g["metric"])
        except KeyError:
            out.append({"metric": g["metric"], "text": f"{g['metric']} (unknown metric)"})
            continue
        sign = "≤" if g.get("max") is not None else "≥"
        unit = f" {unit_label(metric)}" if unit_label(metric) else ""
        out.append({"metric": metric.key, "text": f"{metric.name} {sign} {row.threshold}{unit}"})
    return out


# --- changing them on an experiment ---------------------------------------------------------


def _text(guardrails: list[dict[str, Any]]) -> str:
    parts = []
    for g in guardrails:
        bound = "max" if g.get("max") is not None else "min"
        parts.append(f"{g['metric']} {'≤' if bound == 'max' else '≥'} {g[bound]:g}")
    return ", ".join(parts) or "none"


@transaction.atomic
def experiment_guardrails_update(
    *, experiment: Experiment, guardrails: list[dict[str, Any]], actor: Actor, comment: str = ""
) -> Experiment:
    """Replace a draft's or a running experiment's guardrails (validated here too), recorded in
    the audit log (`experiment.guardrails_changed`, who, when, before and after, the comment).
    Guardrails change what the experiment watches and alerts on, never what an environment
    serves, so an editor may change them and the comment is optional, in production too
    (flags/policy.py)."""
    if actor.user is not None:
        policy.require_change(actor.user, production=False, what="change guardrails")
    if problem := text_unstorable(comment):
        raise GuardrailError([("comment", f"The comment {problem}.")])
    experiment = Experiment.objects.select_for_update().get(pk=experiment.pk)
    if experiment.status not in (Status.DRAFT, Status.RUNNING):
        message = f"Only a draft or running experiment's guardrails change ({experiment.status})."
        raise GuardrailError([("status", message)])
    before = list(experiment.guardrails)
    watched = {g["metric"] for g in before if isinstance(g, Mapping) and "metric" in g}
    after = guardrails_validate(guardrails, allowed_archived=watched)
    if after == before:
        return experiment
    experiment.guardrails = after
    experiment.save(update_fields=["guardrails"])
    audit_record(
        actor=actor,
        action="experiment.guardrails_changed",
        object_type="experiment",
        object_key=experiment.key,
        environment=experiment.environment,
        summary=f"{experiment.key}: guardrails {_text(before)} → {_text(after)}",
        comment=comment,
        diff=[{"path": "guardrails", "before": before, "after": after}],
    )
    return experiment
