"""Exposures of units in experiments from server-side evaluation (`/api/v1/evaluate`, OFREP).

The batched recorder (delivery/exposures.py) hands each flush's distinct (environment, flag,
variant, unit, first time, experiment) tuples to `experiment_exposures_store`, inside the
flush's transaction: multi-row inserts that skip what is already stored. The event id is
derived from (experiment, variant, unit), so a unit's exposure to a variant is stored once
however many processes and flushes see it; the SDK's own exposure events (with `experiment`)
land in the same table.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from django.db import connection

from delivery.exposures import UnitExposure
from feedback.models import Exposure


def server_exposure_id(experiment: str, variant: str, unit: str) -> str:
    digest = hashlib.sha256(f"{experiment}\0{variant}\0{unit}".encode()).hexdigest()
    return f"srv-{digest[:40]}"


ROWS_PER_STATEMENT = 100  # 8 parameters a row: under SQLite's oldest 999-parameter limit


def experiment_exposures_store(units: list[UnitExposure]) -> None:
    """Insert the units' exposures, skipping those already stored (same event id). Plain
    multi-row `INSERT ... ON CONFLICT DO NOTHING` statements (PostgreSQL and SQLite): this runs
    on the recorder's flushing thread, where building thousands of model instances held the
    GIL long enough to delay the web process's request threads."""
    table = connection.ops.quote_name(Exposure._meta.db_table)
    columns = (
        "environment_id, event_id, timestamp, received_at, flag_key, variant_key, user_key, "
        "experiment_key"
    )
    adapt = connection.ops.adapt_datetimefield_value
    with connection.cursor() as cursor:
        for start in range(0, len(units), ROWS_PER_STATEMENT):
            chunk = units[start : start + ROWS_PER_STATEMENT]
            params: list[Any] = []
            for env_id, flag_key, variant, unit, first, experiment in chunk:
                when = adapt(datetime.fromtimestamp(first, tz=UTC))
                event_id = server_exposure_id(experiment, variant, unit)
                params += [env_id, event_id, when, when, flag_key, variant, unit[:256], experiment]
            values = ", ".join(["(%s, %s, %s, %s, %s, %s, %s, %s)"] * len(chunk))
            cursor.execute(
                f"INSERT INTO {table} ({columns}) VALUES {values} "
                "ON CONFLICT (environment_id, event_id) DO NOTHING",
                params,
            )
