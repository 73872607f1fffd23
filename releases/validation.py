"""The one validator of a plan's phases and gates, for the API and the page alike.

`plan_specs_parse` reads phases and gates given as data (the API's JSON shape; the page turns
its rows into the same shape) through the API's own serializers and returns specs; the API
nests the same serializers in `PlanCreateSerializer` and converts with `plan_specs_from`.
`plan_validate` then checks a plan's specs against the flag and the catalogue: `plan_create`
and `plan_draft_update` call it, whoever the caller is. Errors are `ConfigError` pairs with
paths like `phases[2].percentage` (the page names them "Phase 3, percentage").
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from experiments.metrics import metric_get
from experiments.outcomes import SOURCES as OUTCOME_SOURCES
from flags.models import Flag, Segment
from flags.validation import ConfigError

from .serializers import GateSerializer, PhaseSerializer
from .templates_builtin import GateSpec, PhaseSpec

MAX_PHASES = 20  # per plan (docs/rollouts.md, "Limits")
MAX_GATES = 20


def plan_specs_from(
    phases: Sequence[Mapping[str, Any]], gates: Sequence[Mapping[str, Any]]
) -> tuple[list[PhaseSpec], list[GateSpec]]:
    """Specs from the serializers' validated data (a phase's name is optional)."""
    phase_specs = [
        PhaseSpec(**{"name": "", **p, "segments": tuple(p.get("segments", ()))}) for p in phases
    ]
    return phase_specs, [GateSpec(**g) for g in gates]


def _serializer_errors(name: str, errors: Any) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    if isinstance(errors, Mapping) and "non_field_errors" in errors:  # not a list at all
        return [(name, str(m)) for m in errors["non_field_errors"]]
    # A list with one entry per item, or (some DRF versions) {index: errors} for the bad ones
    items = errors.items() if isinstance(errors, Mapping) else enumerate(errors)
    for i, item in items:
        for field, messages in (item or {}).items():
            if isinstance(messages, Mapping):  # a list field's {index: [messages]}
                messages = [m for ms in messages.values() for m in ms]
            for message in messages if isinstance(messages, list) else [messages]:
                pairs.append((f"{name}[{i}].{field}", str(message)))
    return pairs


def plan_specs_parse(
    *, phases: Sequence[Mapping[str, Any]], gates: Sequence[Mapping[str, Any]]
) -> tuple[list[PhaseSpec], list[GateSpec]]:
    """Phases and gates given as data, read by the API's serializers (ConfigError if refused)."""
    errors: list[tuple[str, str]] = []
    too_many = plan_counts_errors(len(phases), len(gates))
    if too_many:
        raise ConfigError(too_many)
    phase_data = PhaseSerializer(data=list(phases), many=True)
    gate_data = GateSerializer(data=list(gates), many=True)
    if not phase_data.is_valid():
        errors += _serializer_errors("phases", phase_data.errors)
    if not gate_data.is_valid():
        errors += _serializer_errors("gates", gate_data.errors)
    if errors:
        raise ConfigError(errors)
    return plan_specs_from(phase_data.validated_data, gate_data.validated_data)


def plan_counts_errors(phases: int, gates: int) -> list[tuple[str, str]]:
    """The 20-phase / 20-gate limits (before anything is read: a huge list costs nothing)."""
    errors = []
    if phases > MAX_PHASES:
        errors.append(("phases", f"At most {MAX_PHASES} phases (got {phases})."))
    if gates > MAX_GATES:
        errors.append(("gates", f"At most {MAX_GATES} gates (got {gates})."))
    return errors


def plan_validate(
    flag: Flag, variant: str, replaces: str, phases: list[PhaseSpec], gates: list[GateSpec]
) -> None:
    """A plan's variants, phases and gates, or ConfigError naming every problem."""
    errors: list[tuple[str, str]] = []
    keys = flag.variant_keys
    if variant not in keys:
        errors.append(("variant", f"{flag.key} has no variant {variant!r}."))
    if replaces not in keys:
        errors.append(("replaces", f"{flag.key} has no variant {replaces!r}."))
    if variant == replaces:
        errors.append(("replaces", "The plan must replace another variant."))
    if not phases:
        errors.append(("phases", "A plan needs at least one phase."))
    errors += plan_counts_errors(len(phases), len(gates))
    known = set(Segment.objects.values_list("key", flat=True))
    for i, p in enumerate(phases):
        if p.percentage is not None and not 0 < p.percentage <= 100:
            errors.append(
                (f"phases[{i}].percentage", "A percentage is more than 0 and at most 100.")
            )
        for key in p.segments:
            if key not in known:
                errors.append((f"phases[{i}].segments", f"No segment {key!r}."))
        if p.completes and i != len(phases) - 1:
            errors.append((f"phases[{i}].completes", "Only the last phase may complete."))
    for i, g in enumerate(gates):
        errors += _gate_errors(i, g)
    if errors:
        raise ConfigError(errors)


def _gate_errors(i: int, g: GateSpec) -> list[tuple[str, str]]:
    errors: list[tuple[str, str]] = []
    try:
        metric = metric_get(g.metric, archived=False)  # built-in or team (not archived)
    except KeyError:
        metric = None
    if metric is None:
        errors.append((f"gates[{i}].metric", f"No metric {g.metric!r} in the catalogue."))
    elif metric.source not in OUTCOME_SOURCES:
        what = "gates read LLM calls, feedback and scores (implicit signals: experiments only)"
        errors.append((f"gates[{i}].metric", f"{g.metric}: {what}."))
    elif g.compare_with_control and metric.kind != "proportion":
        errors.append((f"gates[{i}].compare_with_control", "Only proportion metrics compare."))
    if not math.isfinite(g.threshold):
        errors.append((f"gates[{i}].threshold", "A threshold is a finite number."))
    if g.window_seconds <= 0:
        errors.append((f"gates[{i}].window_seconds", "A window is at least 1 second."))
    return errors
