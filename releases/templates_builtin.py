"""Built-in plan templates and default gates (editable once a plan is created from them)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

HOUR = 3600


@dataclass(frozen=True)
class PhaseSpec:
    name: str
    percentage: Decimal | None = None
    segments: tuple[str, ...] = ()
    min_duration_seconds: int = 24 * HOUR
    completes: bool = False

    def as_fields(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "percentage": self.percentage,
            "segments": list(self.segments),
            "min_duration_seconds": self.min_duration_seconds,
            "completes": self.completes,
        }


@dataclass(frozen=True)
class GateSpec:
    metric: str
    threshold: float
    window_seconds: int
    min_sample: int = 50
    compare_with_control: bool = False

    def as_fields(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "threshold": self.threshold,
            "window_seconds": self.window_seconds,
            "min_sample": self.min_sample,
            "compare_with_control": self.compare_with_control,
        }


# Our users' runbooks: error rate > 5 % / 5 min, P95 latency > 5 s / 10 min, hallucination
# > 10 % / 30 min, safety violations > 0.1 % / 5 min. Each needs a minimum sample first, so one
# error in two calls never rolls back.
DEFAULT_GATES: tuple[GateSpec, ...] = (
    GateSpec("error_rate", 0.05, 5 * 60, min_sample=50),
    GateSpec("p95_latency_ms", 5000.0, 10 * 60, min_sample=50),
    GateSpec("hallucination_rate", 0.10, 30 * 60, min_sample=50),
    GateSpec("safety_violation_rate", 0.001, 5 * 60, min_sample=100),
)

CANARY: tuple[PhaseSpec, ...] = (
    PhaseSpec("1 %", percentage=Decimal(1), min_duration_seconds=24 * HOUR),
    PhaseSpec("5 %", percentage=Decimal(5), min_duration_seconds=24 * HOUR),
    PhaseSpec("25 %", percentage=Decimal(25), min_duration_seconds=48 * HOUR),
    PhaseSpec("50 %", percentage=Decimal(50), min_duration_seconds=24 * HOUR),
    PhaseSpec("100 %", percentage=Decimal(100), min_duration_seconds=0),
)


def feature_rollout(
    internal: str = "internal-users", paid: str = "paid-tier"
) -> tuple[PhaseSpec, ...]:
    return (
        PhaseSpec("internal users", segments=(internal,), min_duration_seconds=24 * HOUR),
        PhaseSpec("5 % of users", percentage=Decimal(5), min_duration_seconds=24 * HOUR),
        PhaseSpec("paid tier", segments=(paid,), min_duration_seconds=48 * HOUR),
        PhaseSpec("all users", percentage=Decimal(100), min_duration_seconds=24 * HOUR),
        PhaseSpec("complete", min_duration_seconds=0, completes=True),
    )


TEMPLATES = ("canary", "feature_rollout")


def template_phases(name: str, **options: str) -> tuple[PhaseSpec, ...]:
    if name == "canary":
        return CANARY
    if name == "feature_rollout":
        return feature_rollout(**options)
    raise KeyError(name)
