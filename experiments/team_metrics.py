"""Team-defined metrics: the allow-list of event fields, the validator with its limits, and the
compiler to the catalogue's `Metric` (docs/experiments.md, "Team metrics").

A definition is data: a source table, a kind, a value (an allow-listed numeric field, or for a
proportion one condition), an optional denominator and up to `MAX_FILTERS` conditions on
allow-listed fields. Nothing a user types becomes a field path: every field name is looked up
in `FIELDS[source]`, and values are bound parameters of the ORM's `Q` objects. The compiled
`Metric` is computed by `experiments.sufficient` with the same aggregate SQL as the built-ins.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from django.db.models import F, Q

from flags.validation import ConfigError
from flagsite.storable import text_unstorable

from .metrics import CATALOGUE, Metric, _flag
from .models import MetricDefinition

# --- limits (docs/experiments.md, "Team metrics: limits") ----------------------------------
MAX_TEAM_METRICS = 200  # archived ones included: archiving hides, it does not free a slot
MAX_FILTERS = 10
MAX_IN_VALUES = 50
MAX_TEXT_VALUE = 200  # characters of one compared string
MAX_NAME = 200
MAX_DESCRIPTION = 2000
MAX_ABS_NUMBER = 1e15
KEY_RE = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")
RESERVED_PREFIXES = ("score:",)

KINDS = ("mean", "proportion", "ratio", "quantile")
UNITS = ("user", "request")
DIRECTIONS = ("higher", "lower")
FORMATS = ("number", "percent", "ms", "usd")
OPS = ("eq", "ne", "in", "gte", "lte", "contains")
OP_SYMBOLS = {"eq": "==", "ne": "!=", "in": "in", "gte": ">=", "lte": "<=", "contains": "contains"}
# Fields whose change alters the numbers (refused while a running experiment uses the metric).
DEFINITION_FIELDS = (
    "source", "kind", "unit", "direction", "value", "condition", "denominator", "quantile",
    "filters",
)  # fmt: skip
EDITABLE_FIELDS = ("name", "description", "format", *DEFINITION_FIELDS)


@dataclass(frozen=True)
class EventField:
    type: Literal["number", "text", "bool"]
    nullable: bool = False
    choices: tuple[str, ...] = ()
    expression: Any = None  # a computed value instead of the column (not filterable)

    @property
    def filterable(self) -> bool:
        return self.expression is None


_N, _NN, _T = EventField("number"), EventField("number", True), EventField("text")
_FEEDBACK_TYPES = ("thumbs_up", "thumbs_down")
_CATEGORIES = ("hallucination", "irrelevant", "formatting", "safety", "other", "")
FIELDS: dict[str, dict[str, EventField]] = {
    "llm_call": {
        "prompt_tokens": _N,
        "completion_tokens": _N,
        "cached_input_tokens": _N,
        "total_tokens": EventField(
            "number", expression=F("prompt_tokens") + F("completion_tokens")
        ),
        "ttft_ms": _NN,
        "latency_ms": _NN,
        "cost_usd": _NN,
        "error": EventField("bool"),
        "hallucination": EventField("bool", nullable=True),
        "safety_violation": EventField("bool", nullable=True),
        "model": _T,
        "feature": _T,
        "user_tier": _T,
        "error_type": _T,
    },
    "feedback": {
        "rating": _NN,
        "type": EventField("text", choices=_FEEDBACK_TYPES),
        "category": EventField("text", choices=_CATEGORIES),
        "triage_category": EventField("text", choices=_CATEGORIES),
    },
    "score": {
        "value": _N,
        "name": _T,
        "source": EventField("text", choices=("llm-judge", "heuristic", "human")),
    },
    "implicit": {
        "value": _N,
        "signal": EventField(
            "text",
            choices=("regenerated", "follow_up", "session_duration", "copied", "task_completed"),
        ),
    },
}
SOURCES = tuple(FIELDS)
SOURCE_NAMES = {
    "llm_call": "LLM calls",
    "feedback": "Feedback votes",
    "score": "Scores",
    "implicit": "Implicit signals",
}


def numeric_fields(source: str) -> list[str]:
    return [name for name, f in FIELDS.get(source, {}).items() if f.type == "number"]


# --- validation ---------------------------------------------------------------------------
class _Errors:
    def __init__(self) -> None:
        self.items: list[tuple[str, str]] = []

    def add(self, path: str, message: str) -> None:
        self.items.append((path, message))


def _storable(value: str) -> bool:
    if "\x00" in value:
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate
        return False
    return True


def _text(errors: _Errors, path: str, raw: Any, *, limit: int, required: bool) -> str:
    if raw is None:
        raw = ""
    if not isinstance(raw, str):
        errors.add(path, "Must be a string.")
        return ""
    if not _storable(raw):
        errors.add(path, "Contains a NUL character or a lone surrogate.")
        return ""
    value = raw.strip()
    if required and not value:
        errors.add(path, "This field is required.")
    if len(value) > limit:
        errors.add(path, f"At most {limit} characters (got {len(value)}).")
    return value


def _choice(errors: _Errors, path: str, raw: Any, choices: tuple[str, ...]) -> str:
    if not isinstance(raw, str) or raw not in choices:
        errors.add(path, f"One of {', '.join(choices)}.")
        return ""
    return raw


def _number(errors: _Errors, path: str, raw: Any) -> float | None:
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        errors.add(path, "Must be a number.")
        return None
    value = float(raw)
    if not math.isfinite(value) or abs(value) > MAX_ABS_NUMBER:
        errors.add(path, f"Must be a finite number of magnitude at most {MAX_ABS_NUMBER:g}.")
        return None
    return value


def _scalar(errors: _Errors, path: str, spec: EventField, raw: Any) -> Any:
    """One compared value, checked against the field's type (and choices)."""
    if spec.type == "number":
        return _number(errors, path, raw)
    if spec.type == "bool":
        if not isinstance(raw, bool):
            errors.add(path, "Must be true or false.")
        return raw
    value = _text(errors, path, raw, limit=MAX_TEXT_VALUE, required=False)
    if spec.choices and value not in spec.choices:
        errors.add(path, f"One of {', '.join(repr(c) for c in spec.choices)}.")
    return value


def condition_clean(errors: _Errors, path: str, raw: Any, source: str) -> dict[str, Any] | None:
    """{"field", "op", "value"} on an allow-listed, filterable field of `source`."""
    if not isinstance(raw, Mapping):
        errors.add(path, 'A condition is {"field": ..., "op": ..., "value": ...}.')
        return None
    extra = set(raw) - {"field", "op", "value"}
    if extra:
        errors.add(path, f"Unknown keys: {', '.join(sorted(map(str, extra)))[:200]}.")
    field = raw.get("field")
    spec = FIELDS.get(source, {}).get(field) if isinstance(field, str) else None
    if spec is None or not spec.filterable:
        allowed = ", ".join(n for n, f in FIELDS.get(source, {}).items() if f.filterable)
        errors.add(f"{path}.field", f"Not a field of {source} (allowed: {allowed}).")
        return None
    op = raw.get("op")
    if op not in OPS:
        errors.add(f"{path}.op", f"One of {', '.join(OPS)}.")
        return None
    if op in ("gte", "lte") and spec.type != "number":
        errors.add(f"{path}.op", f"{op} compares numbers; {field} is {spec.type}.")
        return None
    if op == "contains" and spec.type != "text":
        errors.add(f"{path}.op", f"contains compares text; {field} is {spec.type}.")
        return None
    raw_value = raw.get("value")
    if op == "in":
        if not isinstance(raw_value, list) or not raw_value:
            errors.add(f"{path}.value", "in takes a non-empty list.")
            return None
        if len(raw_value) > MAX_IN_VALUES:
            errors.add(f"{path}.value", f"At most {MAX_IN_VALUES} values (got {len(raw_value)}).")
            return None
        before = len(errors.items)
        values = [_scalar(errors, f"{path}.value[{i}]", spec, v) for i, v in enumerate(raw_value)]
        if len(errors.items) > before:
            return None
        return {"field": field, "op": op, "value": list(dict.fromkeys(values))}
    if op == "contains":
        value = _text(errors, f"{path}.value", raw_value, limit=MAX_TEXT_VALUE, required=True)
        return {"field": field, "op": op, "value": value}
    before = len(errors.items)
    value = _scalar(errors, f"{path}.value", spec, raw_value)
    return None if len(errors.items) > before else {"field": field, "op": op, "value": value}


def definition_clean(
    data: Any, *, existing: MetricDefinition | None = None, partial: bool = False
) -> dict[str, Any]:
    """The definition's fields, validated (ConfigError naming each field at fault). With
    `partial`, missing fields keep `existing`'s values (an update)."""
    if not isinstance(data, Mapping):
        raise ConfigError([("", "The body is a JSON object.")])
    base: dict[str, Any] = {}
    if partial and existing is not None:
        base = {f: getattr(existing, f) for f in ("key", *EDITABLE_FIELDS)}
    allowed = {"key", *EDITABLE_FIELDS}
    unknown = sorted(str(k)[:64] for k in data if k not in allowed)
    errors = _Errors()
    for name in unknown[:5]:
        errors.add(name, "Unknown field.")
    merged = {**base, **{k: v for k, v in data.items() if k in allowed}}
    out: dict[str, Any] = {}
    key = merged.get("key")
    if existing is not None and partial:
        if "key" in data and data["key"] != existing.key:
            errors.add("key", "The key cannot change (rename with name; keys are references).")
        out["key"] = existing.key
    else:
        out["key"] = _key_clean(errors, key)
    out["name"] = _text(errors, "name", merged.get("name"), limit=MAX_NAME, required=True)
    out["description"] = _text(
        errors, "description", merged.get("description"), limit=MAX_DESCRIPTION, required=False
    )
    source = out["source"] = _choice(errors, "source", merged.get("source"), SOURCES)
    kind = out["kind"] = _choice(errors, "kind", merged.get("kind"), KINDS)
    out["unit"] = _choice(errors, "unit", merged.get("unit", "request"), UNITS)
    out["direction"] = _choice(errors, "direction", merged.get("direction"), DIRECTIONS)
    out["format"] = _choice(errors, "format", merged.get("format") or "number", FORMATS)
    out.update(value="", condition=None, denominator="", quantile=None)
    if source and kind:
        _shape_clean(errors, merged, out)
    filters = merged.get("filters")
    if filters is None:
        filters = []
    if not isinstance(filters, list):
        errors.add("filters", "A list of conditions.")
    elif len(filters) > MAX_FILTERS:
        errors.add("filters", f"At most {MAX_FILTERS} filters (got {len(filters)}).")
    elif source:
        cleaned = [
            condition_clean(errors, f"filters[{i}]", f, source) for i, f in enumerate(filters)
        ]
        out["filters"] = [c for c in cleaned if c is not None]
    if errors.items:
        raise ConfigError(errors.items)
    return out


def _key_clean(errors: _Errors, key: Any) -> str:
    if not isinstance(key, str) or not KEY_RE.match(key):
        errors.add("key", "1-64 of a-z, 0-9, _ and -, starting with a letter.")
        return ""
    if key in CATALOGUE or key.startswith(RESERVED_PREFIXES):
        errors.add("key", f"{key!r} is a built-in metric's key.")
    return key


def _shape_clean(errors: _Errors, merged: Mapping[str, Any], out: dict[str, Any]) -> None:
    """value / condition / denominator / quantile, as the kind needs them."""
    source, kind = out["source"], out["kind"]
    numbers = numeric_fields(source)
    if kind == "proportion":
        out["condition"] = condition_clean(errors, "condition", merged.get("condition"), source)
    else:
        value = merged.get("value")
        if value not in numbers:
            errors.add("value", f"A numeric field of {source}: {', '.join(numbers)}.")
        else:
            out["value"] = value
    if kind == "ratio":
        den = merged.get("denominator") or ""
        if den and den not in numbers:
            errors.add(
                "denominator", f"A numeric field of {source} ({', '.join(numbers)}) or empty."
            )
        else:
            out["denominator"] = den
    if kind == "quantile":
        q = _number(errors, "quantile", merged.get("quantile"))
        if q is not None and not 0 < q < 1:
            errors.add("quantile", "Between 0 and 1, exclusive (0.95 is P95).")
        out["quantile"] = q
        if out["unit"] != "request":
            errors.add("unit", "Quantiles are computed over events: unit must be request.")


# --- compiling ----------------------------------------------------------------------------
def condition_q(condition: Mapping[str, Any]) -> Q:
    """A validated condition as a Q on the allow-listed column (values are bound parameters)."""
    field, op, value = condition["field"], condition["op"], condition["value"]
    if op == "eq":
        return Q(**{field: value})
    if op == "ne":
        return ~Q(**{field: value})
    return Q(**{f"{field}__{op}": value})


def condition_text(condition: Mapping[str, Any]) -> str:
    value = condition["value"]
    shown = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
    return f"{condition['field']} {OP_SYMBOLS[condition['op']]} {shown}"


def _column(source: str, name: str) -> Any:
    spec = FIELDS[source][name]
    return spec.expression if spec.expression is not None else name


def metric_compile(d: MetricDefinition) -> Metric:
    """The catalogue `Metric` a stored definition means."""
    source = d.source
    where = Q()
    for f in d.filters:
        where &= condition_q(f)
    reads = [f"{source}.{f['field']}" for f in d.filters]
    if d.kind == "proportion":
        assert d.condition is not None
        value: Any = _flag(condition_q(d.condition))
        reads.insert(0, f"{source}.{d.condition['field']}")
    else:
        value = _column(source, d.value)
        reads.insert(0, f"{source}.{d.value}")
        if FIELDS[source][d.value].nullable:
            where &= Q(**{f"{d.value}__isnull": False})
    denominator = None
    if d.kind == "ratio" and d.denominator:
        denominator = _column(source, d.denominator)
        reads.append(f"{source}.{d.denominator}")
        if FIELDS[source][d.denominator].nullable:
            where &= Q(**{f"{d.denominator}__isnull": False})
    return Metric(
        key=d.key,
        name=d.name,
        kind=d.kind,  # type: ignore[arg-type]
        unit=d.unit,  # type: ignore[arg-type]
        direction=d.direction,  # type: ignore[arg-type]
        source=source,  # type: ignore[arg-type]
        value=value,
        where=where,
        denominator=denominator,
        quantile=d.quantile if d.kind == "quantile" else None,
        format=d.format,  # type: ignore[arg-type]
        reads=tuple(dict.fromkeys(reads)),
        description=d.description,
    )


def team_metric_get(key: str, *, archived: bool = True) -> Metric:
    """The team metric `key` (KeyError when there is none, or it is archived and `archived`
    is False)."""
    rows = MetricDefinition.objects.filter(key=key)
    if not archived:
        rows = rows.filter(archived=False)
    found = rows.first() if text_unstorable(key) is None else None  # (no row can match)
    if found is None:
        raise KeyError(key)
    return metric_compile(found)


def team_metrics_list(*, archived: bool = False) -> list[Metric]:
    rows = MetricDefinition.objects.all()
    if not archived:
        rows = rows.filter(archived=False)
    return [metric_compile(d) for d in rows]
