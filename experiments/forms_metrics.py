"""The Metrics page's form: conditions as text lines (`model == gpt-4o`, `feature in search,
chat`, `latency_ms >= 100`), parsed into the API's shape and checked by the same validator
(`experiments.team_metrics.definition_clean`), whose field paths become form errors."""

from __future__ import annotations

from typing import Any

from django import forms

from flags.models import Environment
from flags.validation import ConfigError

from .models import MetricDefinition
from .team_metrics import (
    DIRECTIONS,
    FIELDS,
    FORMATS,
    KINDS,
    OP_SYMBOLS,
    SOURCE_NAMES,
    SOURCES,
    UNITS,
    numeric_fields,
)

SYMBOL_OPS = {symbol: op for op, symbol in OP_SYMBOLS.items()}
# Longest first, so ">=" is not read as a field ending in ">".
_SYMBOLS = sorted(SYMBOL_OPS, key=len, reverse=True)


def _pairs(values: tuple[str, ...]) -> list[tuple[str, str]]:
    return [(v, v) for v in values]


def _numeric_choices(blank: str) -> list[tuple[str, Any]]:
    grouped: list[tuple[str, Any]] = [("", blank)]
    for source in SOURCES:
        grouped.append((SOURCE_NAMES[source], _pairs(tuple(numeric_fields(source)))))
    return grouped


def condition_parse(line: str, source: str) -> Any:
    """`field op value` as {"field", "op", "value"}, values typed by the field (a number field
    takes numbers, a boolean true/false); anything unparsable is returned as typed, for the
    validator to name."""
    text = line.strip()
    for symbol in _SYMBOLS:
        sep = f" {symbol} "
        if sep in f"{text} ":
            field, _, raw = f"{text} ".partition(sep)
            break
    else:
        return {"field": text, "op": "", "value": ""}
    field, raw = field.strip(), raw.strip()
    op = SYMBOL_OPS[symbol]
    spec = FIELDS.get(source, {}).get(field)

    def typed(value: str) -> Any:
        value = value.strip()
        if spec is not None and spec.type == "number":
            try:
                return float(value)
            except ValueError:
                return value
        if spec is not None and spec.type == "bool":
            return {"true": True, "false": False}.get(value.lower(), value)
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            return value[1:-1]
        return value

    if op == "in":
        return {"field": field, "op": op, "value": [typed(v) for v in raw.split(",") if v.strip()]}
    return {"field": field, "op": op, "value": typed(raw)}


def condition_line(condition: dict[str, Any] | None) -> str:
    if not condition:
        return ""
    value = condition["value"]
    items = value if isinstance(value, list) else [value]
    shown = ", ".join(
        ("true" if v else "false") if isinstance(v, bool) else f"{v:g}" if isinstance(v, float)
        else str(v)
        for v in items
    )  # fmt: skip
    return f"{condition['field']} {OP_SYMBOLS[condition['op']]} {shown}"


class TeamMetricForm(forms.Form):
    key = forms.CharField(
        max_length=64, help_text="a-z, 0-9, _ and -. Experiments name the metric by it."
    )
    name = forms.CharField(max_length=200)
    description = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}), required=False, max_length=2000
    )
    source = forms.ChoiceField(choices=[(s, SOURCE_NAMES[s]) for s in SOURCES])
    kind = forms.ChoiceField(choices=_pairs(KINDS))
    unit = forms.ChoiceField(
        choices=_pairs(UNITS),
        initial="request",
        help_text="user: one observation per unit (its events summed); request: per event.",
    )
    direction = forms.ChoiceField(choices=[(d, f"{d} is better") for d in DIRECTIONS])
    value = forms.ChoiceField(
        choices=_numeric_choices("— (proportion: use the condition)"),
        required=False,
        help_text="mean, ratio, quantile: the numeric field averaged, summed or ranked.",
    )
    condition = forms.CharField(
        max_length=12000,
        required=False,
        help_text="proportion: the share of events where this holds, e.g. signal == copied.",
    )
    denominator = forms.ChoiceField(
        choices=_numeric_choices("one per event"), required=False, help_text="ratio only."
    )
    quantile = forms.FloatField(required=False, help_text="quantile: 0 < q < 1 (0.95: P95).")
    filters = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        max_length=12000,
        help_text="Which events count, one condition a line (all must hold): field op value, "
        "op one of == != in >= <= contains; in takes values separated by commas.",
    )
    format = forms.ChoiceField(choices=_pairs(FORMATS), initial="number")
    preview_environment = forms.ModelChoiceField(
        Environment.objects.all(),
        to_field_name="key",
        required=False,
        label="Preview in",
        help_text="Not stored: the environment the preview below reads.",
    )

    def __init__(self, *args: Any, definition: MetricDefinition | None = None, **kw: Any) -> None:
        if definition is not None and "initial" not in kw:
            kw["initial"] = {
                **{f: getattr(definition, f) for f in ("key", "name", "description", "source")},
                **{f: getattr(definition, f) for f in ("kind", "unit", "direction", "value")},
                "denominator": definition.denominator,
                "quantile": definition.quantile,
                "format": definition.format,
                "condition": condition_line(definition.condition),
                "filters": "\n".join(condition_line(f) for f in definition.filters),
            }
        super().__init__(*args, **kw)
        if definition is not None:
            self.fields["key"].disabled = True
        first = Environment.objects.order_by("sort_order", "id").first()
        self.fields["preview_environment"].initial = first.key if first else None
        self.filter_lines: list[int] = []

    def definition_data(self) -> dict[str, Any]:
        """The cleaned form as the validator's input (the API's body shape)."""
        data = {k: v for k, v in self.cleaned_data.items() if k != "preview_environment"}
        source = data["source"]
        lines = [(i, line) for i, line in enumerate(data["filters"].splitlines()) if line.strip()]
        self.filter_lines = [i for i, _ in lines]
        data["filters"] = [condition_parse(line, source) for _, line in lines]
        data["condition"] = (
            condition_parse(data["condition"], source) if data["condition"].strip() else None
        )
        if self.fields["key"].disabled:
            data.pop("key")
        return data

    def add_config_errors(self, exc: ConfigError) -> None:
        """The validator's paths (`filters[2].value`) as errors of the form's fields."""
        for path, message in exc.errors:
            head = path.split(".", 1)[0].split("[", 1)[0]
            if head == "filters" and "[" in path:
                index = int(path.split("[", 1)[1].split("]", 1)[0])
                line = self.filter_lines[index] + 1 if index < len(self.filter_lines) else index + 1
                message = f"line {line}: {path.split('.', 1)[1] if '.' in path else ''} {message}"
            elif head == "condition" and "." in path:
                message = f"{path.split('.', 1)[1]}: {message}"
            self.add_error(head if head in self.fields else None, message.strip())
