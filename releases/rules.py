"""The rule a plan owns in its flag's configuration (pure functions, no database).

A plan adds at most two rules, at the end of the configuration's rules (so targeting rules
written by people keep their precedence, and the plan only takes over the default traffic):

- `rollout-<plan>-segments`: the segments named so far serve the new variant;
- `rollout-<plan>-percent`: a sticky percentage of every unit serves the new variant. Its
  bucketing salt is `<flag salt>:rollout:<rule id>` (docs/ruleset.md), fixed for the plan's
  life, so raising the percentage only ever adds units: a unit in the 1 % stays in the 5 %.

Rolling back removes exactly these rules; anything else edited meanwhile (a kill switch, a new
targeting rule, the default) stays as it is.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from decimal import Decimal
from typing import Any, Protocol


class PhaseLike(Protocol):
    percentage: Decimal | None
    segments: list[str]
    completes: bool


def audience_at(phases: Sequence[PhaseLike], index: int) -> tuple[list[str], Decimal | None]:
    """The cumulative audience of phase `index`: (segments, largest percentage) so far."""
    segments: list[str] = []
    percentage: Decimal | None = None
    for phase in phases[: index + 1]:
        for key in phase.segments:
            if key not in segments:
                segments.append(key)
        if phase.percentage is not None:
            percentage = max(percentage or Decimal(0), Decimal(phase.percentage))
    return segments, percentage


def owned_rules(
    *, prefix: str, variant: str, phases: Sequence[PhaseLike], index: int
) -> list[dict[str, Any]]:
    segments, percentage = audience_at(phases, index)
    serve = {"variant": variant}
    rules: list[dict[str, Any]] = []
    if segments:
        rules.append(
            {
                "id": f"{prefix}segments",
                "name": "rollout plan: segments",
                "clauses": [{"op": "segment", "values": segments}],
                "serve": serve,
            }
        )
    if percentage is not None and percentage > 0:
        pct: float | int = int(percentage) if percentage == int(percentage) else float(percentage)
        rules.append(
            {
                "id": f"{prefix}percent",
                "name": "rollout plan: percentage",
                "clauses": [],
                "rollout": {"percentage": pct, "bucket_by": "key"},
                "serve": serve,
            }
        )
    return rules


def without_owned(rules: Sequence[dict[str, Any]], prefix: str) -> list[dict[str, Any]]:
    return [copy.deepcopy(r) for r in rules if not str(r.get("id", "")).startswith(prefix)]


def with_owned(
    rules: Sequence[dict[str, Any]], prefix: str, owned: Sequence[dict[str, Any]]
) -> list[dict[str, Any]]:
    """`rules` with the plan's rules replaced by `owned`: in place if the plan's rules are
    there (a person may have moved them), else at the end."""
    kept = without_owned(rules, prefix)
    positions = [i for i, r in enumerate(rules) if str(r.get("id", "")).startswith(prefix)]
    if not positions:
        return kept + list(owned)
    at = positions[0]
    return kept[:at] + list(owned) + kept[at:]
