"""An experiment's units, from exposures (docs/experiments.md, "Computation"): the `Assignment`
rows that every metric query of experiments/sufficient.py joins.

`assignments_refresh` groups the exposures per unit into a staging table: the first exposure
fixes the variant, a unit seen in more than one variant is marked `multiple` (counted, shown,
excluded from the statistics). Then only what changed is written: changed units updated, new
ones inserted, gone ones deleted, so repeated computations leave no dead rows.
"""

from __future__ import annotations

import itertools
from datetime import datetime
from typing import Any

from django.db import connection

from feedback.models import Exposure

from .event_rows import _q, epoch_sql
from .models import Assignment, Experiment

_staged = itertools.count()


def assignments_refresh(experiment: Experiment, *, until: datetime) -> None:
    """Bring the experiment's Assignment rows up to date with its exposures up to `until`.

    Incremental: the units are grouped from the exposures into a temporary table, then only
    the differences are written (changed units updated, new units inserted, units no longer
    exposed before `until` deleted). The same rows as deleting and reinserting them all,
    without rewriting 500,000 unchanged rows per computation (the dead rows that slowed the
    next refresh until a vacuum, and a deferred foreign-key check per row at commit)."""
    table = _q(Assignment._meta.db_table)
    exposures = (
        Exposure.objects.filter(
            environment_id=experiment.environment_id,
            flag_key=experiment.flag.key,
            experiment_key=experiment.key,
            timestamp__lt=until,
        )
        .exclude(user_key="")
        .values("user_key", "variant_key", "timestamp")
    )
    inner, params = exposures.query.sql_with_params()
    staged = f"flagsite_units_{next(_staged)}"
    # The first exposure's variant: MIN over the exposures at the first time (ties: by name).
    first_ts = 'MIN(e."timestamp")'
    grouped = (
        f"CREATE TEMPORARY TABLE {staged} AS "
        f"SELECT e.{_q('user_key')} AS unit, MIN(e.{_q('variant_key')}) AS variant, "
        f"{first_ts} AS first_at, {epoch_sql(first_ts)} AS first_epoch, "
        f"CASE WHEN MIN(e.{_q('variant_key')}) <> MAX(e.{_q('variant_key')}) "
        f"THEN %s ELSE %s END AS multiple "
        f"FROM ({inner}) e GROUP BY e.{_q('user_key')}"
    )
    mine = f"{table}.experiment_id = %s"
    changed = (
        f"{table}.variant <> s.variant OR {table}.first_at <> s.first_at "
        f"OR {table}.multiple <> s.multiple"
    )
    statements: list[tuple[str, list[Any]]] = [
        (
            f"UPDATE {table} SET variant = s.variant, first_at = s.first_at, "
            f"first_epoch = s.first_epoch, multiple = s.multiple FROM {staged} s "
            f"WHERE {mine} AND {table}.unit = s.unit AND ({changed})",
            [experiment.pk],
        ),
        (
            f"INSERT INTO {table} (experiment_id, unit, variant, first_at, first_epoch, multiple) "
            f"SELECT %s, s.unit, s.variant, s.first_at, s.first_epoch, s.multiple FROM {staged} s "
            f"WHERE NOT EXISTS (SELECT 1 FROM {table} a WHERE a.experiment_id = %s "
            "AND a.unit = s.unit) "
            "ORDER BY s.unit",  # inserted in the unique index's order: no random writes
            [experiment.pk, experiment.pk],
        ),
    ]
    # Units no longer exposed before `until` (deleted exposures, an earlier `until`): rare,
    # and only possible when the experiment has more rows than units grouped.
    extra = (
        f"SELECT (SELECT COUNT(*) FROM {table} WHERE {mine}) - (SELECT COUNT(*) FROM {staged})",
        [experiment.pk],
    )
    gone = (
        f"DELETE FROM {table} WHERE {mine} AND NOT EXISTS "
        f"(SELECT 1 FROM {staged} s WHERE s.unit = {table}.unit)",
        [experiment.pk],
    )
    written = 0
    with connection.cursor() as cursor:
        cursor.execute(grouped, [True, False, *params])
        for sql, args in statements:
            cursor.execute(sql, args)
            written += max(cursor.rowcount, 0)
        cursor.execute(*extra)
        if cursor.fetchone()[0]:
            cursor.execute(*gone)
            written += max(cursor.rowcount, 0)
        cursor.execute(f"DROP TABLE {staged}")
        if written and connection.vendor == "postgresql":
            # New rows: without statistics the planner nests loops over the joins below.
            cursor.execute(f"ANALYZE {table}")


def units_by_variant(experiment: Experiment) -> tuple[dict[str, int], int]:
    """({variant: units counted}, units seen in several variants)."""
    counts = {v: 0 for v in experiment.variants}
    multiple = 0
    rows = (
        Assignment.objects.filter(experiment=experiment)
        .values_list("variant", "multiple")
        .order_by()
    )
    from django.db.models import Count

    for variant, is_multiple, n in rows.annotate(n=Count("id")):
        if is_multiple:
            multiple += n
        elif variant in counts:
            counts[variant] = n
    return counts, multiple
