"""Exposures of units in experiments from server-side evaluation (`/api/v1/evaluate`, OFREP).

The batched recorder (delivery/exposures.py) hands each flush's distinct (environment, flag,
variant, unit, first time, experiment) tuples to `experiment_exposures_store`, inside the
flush's transaction: one bulk insert per flush. The event id is derived from (experiment,
variant, unit), so a unit's exposure to a variant is stored once however many processes and
flushes see it; the SDK's own exposure events (with `experiment`) land in the same table.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from delivery.exposures import UnitExposure
from feedback.models import Exposure


def server_exposure_id(experiment: str, variant: str, unit: str) -> str:
    digest = hashlib.sha256(f"{experiment}\0{variant}\0{unit}".encode()).hexdigest()
    return f"srv-{digest[:40]}"


def experiment_exposures_store(units: list[UnitExposure]) -> None:
    rows = []
    for env_id, flag_key, variant, unit, first, experiment in units:
        when = datetime.fromtimestamp(first, tz=UTC)
        rows.append(
            Exposure(
                environment_id=env_id,
                event_id=server_exposure_id(experiment, variant, unit),
                timestamp=when,
                received_at=when,
                flag_key=flag_key,
                variant_key=variant,
                user_key=unit[:256],
                experiment_key=experiment,
            )
        )
    Exposure.objects.bulk_create(rows, ignore_conflicts=True, batch_size=500)
