"""Per-variant sufficient statistics of an experiment's metrics, by aggregate SQL (GROUP BY
variant), on PostgreSQL and SQLite alike (docs/experiments.md, "Computation").

- The experiment's units and variants come from experiments/assignments.py (refreshed first).
- One query per event source for its request- and user-level metrics (`source_moments`): the
  per-event values come from the catalogue's Django expressions (the ORM writes the inner
  SELECT for either database), joined to the assignments once and grouped per unit (x = sum of
  values, y = count or sum of denominators; and the request-level sums, which summed again per
  variant are the sums over events); then n, sums, squares and cross-products per variant;
- retention: per mature unit 0/1 (a call 1..N days after the first exposure);
- quantiles: the values at the nearest rank and at the order-statistic CI ranks.
Events count from the unit's first exposure until the experiment stopped; memory does not grow
with the number of events (Python sees one row per variant, or three per quantile).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection

from . import event_rows, stats
from .event_rows import Select, _q, column, per_event
from .metrics import Metric
from .models import Assignment, Experiment

Cuped = stats.CupedMoments | stats.CupedRatioMoments


# --- the per-event rows (experiments/event_rows.py) ------------------------------------------
def _events(
    source: str,
    experiment: Experiment | int,
    since: datetime,
    until: datetime,
    columns: dict[str, Any],
    lookups_until: datetime | None = None,
) -> tuple[str, list[Any]]:
    """The per-event SELECT of `source` in the experiment's (or this environment id's)
    environment between `since` and `until`."""
    env_id = experiment if isinstance(experiment, int) else experiment.environment_id
    return event_rows.events(source, env_id, since, until, columns, lookups_until)


_JOIN = (
    "JOIN {assignment} a ON a.unit = e.xu "
    "WHERE a.experiment_id = %s AND a.multiple = %s AND e.xts >= a.first_at"
)


def _join() -> str:
    return _JOIN.format(assignment=_q(Assignment._meta.db_table))


def _rows(inner: str) -> str:
    """The FROM item of the per-event SELECT `inner`, as `e`. On PostgreSQL, each of its
    columns computed once per event: the planner pulls a plain derived table up into the outer
    query and evaluates a column's expression at every reference (e.g. `cost_usd`'s numeric ->
    float8 cast, ~0.25 us, five times per call: SUM(v), SUM(v * v), COUNT(v), ...). As the
    nullable side of an outer join, its non-Var columns become placeholders evaluated once at
    its scan, in parallel workers too; the inner join to the assignments that follows makes
    the outer join an inner one (same rows), so this costs nothing else."""
    if connection.vendor == "postgresql":
        return f"(SELECT 1 AS one) o LEFT JOIN ({inner}) e ON TRUE"
    return f"({inner}) e"


def _fetch(sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return list(cursor.fetchall())


def _f(value: Any) -> float:
    return float(value or 0.0)


# --- families -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Window:
    experiment: Experiment
    since: datetime
    until: datetime


def source_moments(
    window: Window,
    source: str,
    request: list[Metric],
    user: list[Metric],
    cuped: list[Metric] | None = None,
    pre_since: datetime | None = None,
) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Cuped]]]:
    """({metric key: {variant: moments}}, {metric key: {variant: CUPED moments}}) of one
    source's request-level and user-level metrics
    in one query (one scan of the events, one join to the assignments):
    - request level: Moments (means, proportions) or RatioMoments (ratios) over events: n, sum,
      sum of squares (and the x/y cross-products);
    - user level: RatioMoments over units: per unit x = sum of values, y = events counted (or
      sum of the metric's denominator), then n, sums, squares and cross-products over units.
    With user-level metrics the events are grouped per unit first, and the request-level sums
    are summed again per variant (a sum over events is the sum over units of their sums).
    `cuped` (user-level metrics among `user`) with `pre_since`: the second dict (empty
    otherwise), from the pre-period [pre_since, since) LEFT JOINed per unit (0 without
    pre-period events, docs "CUPED"):
    - means and proportions (`cuped_eligible`): CupedMoments, per unit y = its mean over its
      in-experiment events (x / y above), x = its mean over the pre-period;
    - ratios (`cuped_ratio_eligible`): CupedRatioMoments, per unit the in-experiment x and y
      above and the pre-period's, with their sums, squares and cross-products."""
    cuped = [m for m in cuped or [] if m in user] if pre_since is not None else []
    columns: dict[str, Any] = {}
    per = Select()  # over events: per variant, or per unit when there are user metrics
    positions: dict[str, list[int]] = {}
    for m in request:
        v = column(columns, m, "value")
        at = [per.add(f"COUNT({v})"), per.add(f"SUM({v})"), per.add(f"SUM({v} * {v})")]
        if m.kind == "ratio":
            d = column(columns, m, "denominator")
            at += [per.add(f"SUM({d})"), per.add(f"SUM({d} * {d})"), per.add(f"SUM({v} * {d})")]
        positions[m.key] = at
    for m in user:
        v = column(columns, m, "value")
        if m.denominator is not None:
            y = f"COALESCE(SUM({column(columns, m, 'denominator')}), 0)"
        else:
            y = f"COUNT({v})"
        positions[m.key] = [per.add(f"COALESCE(SUM({v}), 0)"), per.add(y)]
    inner, params = _events(source, window.experiment, window.since, window.until, columns)
    if not user:
        select, outer = per.sql(), positions
        sql = f"SELECT a.variant, {select} FROM {_rows(inner)} {_join()} GROUP BY a.variant"
        params = [*params, window.experiment.pk, False]
    else:
        units = Select()
        outer = {}
        n = units.add("COUNT(*)")
        for m in request:
            outer[m.key] = [units.add(f"SUM(u.r{i})") for i in positions[m.key]]
        for m in user:
            x, y = (f"u.r{i}" for i in positions[m.key])
            outer[m.key] = [
                n,
                *(units.add(f"SUM({s})") for s in (x, f"{x} * {x}", y, f"{y} * {y}")),
                units.add(f"SUM({x} * {y})"),
            ]
        pre_join, pre_params = "", list[Any]()
        if cuped and pre_since is not None:
            pre_columns: dict[str, Any] = {}
            pre_means = []
            for i, m in enumerate(cuped):
                v = column(pre_columns, m, "value")
                x, y = (f"u.r{j}" for j in positions[m.key])
                if not cuped_eligible(m):  # a ratio: its numerator and denominator before
                    pre_means.append(f"COALESCE(SUM({v}), 0) AS px{i}")
                    d = m.denominator and column(pre_columns, m, "denominator")
                    pre_means.append(f"{f'COALESCE(SUM({d}), 0)' if d else f'COUNT({v})'} AS py{i}")
                    px, py = f"COALESCE(p.px{i}, 0)", f"COALESCE(p.py{i}, 0)"
                    products = [px, f"{px} * {px}", py, f"{py} * {py}", f"{px} * {py}"]
                    products += [f"{x} * {px}", f"{x} * {py}", f"{y} * {px}", f"{y} * {py}"]
                    outer[f"cuped:{m.key}"] = [units.add(f"SUM({s})") for s in products]
                    continue
                pre_means.append(f"SUM({v}) / NULLIF(COUNT({v}), 0) AS x{i}")
                mean = f"({x} / NULLIF({y}, 0))"
                pre = f"(CASE WHEN {mean} IS NOT NULL THEN COALESCE(p.x{i}, 0) END)"
                sums = (mean, f"{mean} * {mean}", pre, f"{pre} * {pre}", f"{pre} * {mean}")
                at = [units.add(f"COUNT({mean})"), *(units.add(f"SUM({s})") for s in sums)]
                outer[f"cuped:{m.key}"] = at
            pre_sql, pre_params = _events(
                source, window.experiment, pre_since, window.since, pre_columns, window.until
            )
            pre_join = (
                f" LEFT JOIN (SELECT e.xu AS unit, {', '.join(pre_means)} FROM ({pre_sql}) e "
                "GROUP BY e.xu) p ON p.unit = u.unit"
            )
        sql = (
            f"SELECT u.variant, {units.sql()} FROM (SELECT a.variant AS variant, a.unit AS unit, "
            f"{per.sql('r')} FROM {_rows(inner)} {_join()} GROUP BY a.id, a.variant, a.unit) u"
            f"{pre_join} GROUP BY u.variant"
        )
        params = [*params, window.experiment.pk, False, *pre_params]
    out: dict[str, dict[str, Any]] = {m.key: {} for m in [*request, *user]}
    out_cuped: dict[str, dict[str, Cuped]] = {m.key: {} for m in cuped}
    by_units = {m.key for m in user}
    for row in _fetch(sql, params):
        variant, values = row[0], row[1:]
        for m in cuped:
            if not cuped_eligible(m):
                continue  # a ratio's: below, with its in-experiment moments
            n_, sy, sy2, sx, sx2, sxy = (values[i] for i in outer[f"cuped:{m.key}"])
            out_cuped[m.key][variant] = stats.CupedMoments(
                n=int(n_ or 0),
                sum_y=_f(sy),
                sum_y2=_f(sy2),
                sum_x=_f(sx),
                sum_x2=_f(sx2),
                sum_xy=_f(sxy),
            )
        for m in [*request, *user]:
            got = [values[i] for i in outer[m.key]]
            if m.key in by_units or m.kind == "ratio":
                n_, sx, sx2, sy, sy2, sxy = got
                out[m.key][variant] = stats.RatioMoments(
                    n=int(n_ or 0),
                    sum_x=_f(sx),
                    sum_x2=_f(sx2),
                    sum_y=_f(sy),
                    sum_y2=_f(sy2),
                    sum_xy=_f(sxy),
                )
            else:
                n_, s, s2 = got
                out[m.key][variant] = stats.Moments(n=int(n_ or 0), sum=_f(s), sum_sq=_f(s2))
        for m in cuped:
            if cuped_eligible(m):
                continue
            post = out[m.key][variant]
            u, u2, w, w2, uw, *cross = (_f(values[i]) for i in outer[f"cuped:{m.key}"])
            out_cuped[m.key][variant] = stats.CupedRatioMoments(
                post=post,
                pre=stats.RatioMoments(n=post.n, sum_x=u, sum_x2=u2, sum_y=w, sum_y2=w2, sum_xy=uw),
                sum_x_prex=cross[0],
                sum_x_prey=cross[1],
                sum_y_prex=cross[2],
                sum_y_prey=cross[3],
            )
    return out, out_cuped


def retention(window: Window, metric: Metric) -> dict[str, stats.Moments]:
    """{variant: Moments of 0/1 per unit}: a unit is retained when it makes an LLM call between
    1 and N days after its first exposure; only units exposed at least N days before `until`
    (mature) count, so a young experiment is not biased towards "not yet returned"."""
    days = metric.retention_days or 7
    until_epoch = window.until.timestamp()
    inner, params = _events("llm_call", window.experiment, window.since, window.until, {})
    table = _q(Assignment._meta.db_table)
    mature = "{a}.experiment_id = %s AND {a}.multiple = %s AND {a}.first_epoch <= %s"
    # The returned units first (the events hash-joined to the mature units: none, no scan),
    # then every mature unit with or without.
    sql = (
        f"SELECT a.variant, COUNT(*), COUNT(r.aid) FROM {table} a LEFT JOIN ("
        f"SELECT DISTINCT m.id AS aid FROM ({inner}) e JOIN {table} m ON m.unit = e.xu "
        f"WHERE {mature.format(a='m')} AND e.xep >= m.first_epoch + 86400 "
        f"AND e.xep < m.first_epoch + %s) r ON r.aid = a.id "
        f"WHERE {mature.format(a='a')} GROUP BY a.variant"
    )
    unit = [window.experiment.pk, False, until_epoch - days * 86400.0]
    args = [*params, *unit, days * 86400.0, *unit]
    return {
        variant: stats.Moments.proportion(int(r or 0), int(n))
        for variant, n, r in _fetch(sql, args)
    }


def quantiles(
    window: Window, metric: Metric, counts: dict[str, int], alpha: float
) -> dict[str, stats.QuantileEstimate]:
    """{variant: QuantileEstimate}: the nearest-rank quantile (rank ceil(q n), as
    outcomes.py and PostgreSQL's percentile_disc) and the values at the order-statistic CI
    ranks, read in one query."""
    q = float(metric.quantile or 0.5)
    ranks: dict[str, tuple[int, int, int]] = {}
    for variant, n in counts.items():
        if n:
            lo, hi = stats.quantile_rank_ci(n, q, alpha)
            ranks[variant] = (lo, max(1, math.ceil(q * n)), hi)
    if not ranks:
        return {}
    inner, params = _events(
        metric.source,
        window.experiment,
        window.since,
        window.until,
        {"xv0": per_event(metric, "value", "xv0")},
    )
    found = (_ranked_pg if connection.vendor == "postgresql" else _ranked)(
        inner, params, window.experiment.pk, ranks, counts
    )
    out: dict[str, stats.QuantileEstimate] = {}
    for variant, (lo, k, hi) in ranks.items():
        if (variant, k) in found:
            out[variant] = stats.QuantileEstimate(
                n=counts[variant],
                value=found[(variant, k)],
                lo=found.get((variant, lo), found[(variant, k)]),
                hi=found.get((variant, hi), found[(variant, k)]),
            )
    return out


def _ranked(
    inner: str,
    params: list[Any],
    experiment_id: int,
    ranks: dict[str, tuple[int, int, int]],
    counts: dict[str, int],
) -> dict[tuple[str, int], float]:
    """{(variant, rank): value} by one window query (ROW_NUMBER per variant)."""
    wanted = " OR ".join("(variant = %s AND rn IN (%s, %s, %s))" for _ in ranks)
    wanted_params: list[Any] = []
    for variant, r in ranks.items():
        wanted_params += [variant, *r]
    sql = (
        f"SELECT variant, rn, v FROM (SELECT a.variant AS variant, e.xv0 AS v, "
        f"ROW_NUMBER() OVER (PARTITION BY a.variant ORDER BY e.xv0) AS rn "
        f"FROM {_rows(inner)} {_join()} AND e.xv0 IS NOT NULL) r WHERE {wanted}"
    )
    found: dict[tuple[str, int], float] = {}
    for variant, rn, v in _fetch(sql, [*params, experiment_id, False, *wanted_params]):
        found[(variant, int(rn))] = float(v)
    return found


def _ranked_pg(
    inner: str,
    params: list[Any],
    experiment_id: int,
    ranks: dict[str, tuple[int, int, int]],
    counts: dict[str, int],
) -> dict[tuple[str, int], float]:
    """The same on PostgreSQL, cheaper: one `percentile_disc(fractions) WITHIN GROUP` per
    variant (an in-memory sort of the values, no window); rank r of n is the fraction
    (r - 0.5) / n, whose ceil(fraction x n) is r whatever the rounding."""
    select: list[str] = []
    args: list[Any] = []
    wanted: dict[str, list[int]] = {}
    for variant, r in ranks.items():
        n = counts[variant]
        wanted[variant] = sorted({x for x in r if 1 <= x <= n})
        select.append(
            "percentile_disc(%s::float8[]) WITHIN GROUP (ORDER BY e.xv0) "
            "FILTER (WHERE a.variant = %s)"
        )
        args += [[(x - 0.5) / n for x in wanted[variant]], variant]
    sql = f"SELECT {', '.join(select)} FROM {_rows(inner)} {_join()} AND e.xv0 IS NOT NULL"
    with connection.cursor() as cursor:
        if connection.in_atomic_block:
            # An ordered-set aggregate has no partial form, so the planner weighs scanning and
            # joining the events in parallel workers against sending every value through
            # the Gather (at the default 0.1 per row: serial). Cheaper rows let the workers
            # scan and join while the leader sorts (12.6 s -> 7.5 s at 10 M, 2 cores).
            cursor.execute("SET LOCAL parallel_tuple_cost = 0.001")
        cursor.execute(sql, [*args, *params, experiment_id, False])
        row = cursor.fetchone()
        if connection.in_atomic_block:
            cursor.execute("SET LOCAL parallel_tuple_cost TO DEFAULT")
    found: dict[tuple[str, int], float] = {}
    for (variant, chosen), values in zip(wanted.items(), row, strict=True):
        for rank, value in zip(chosen, values or [], strict=False):
            if value is not None:
                found[(variant, rank)] = float(value)
    return found


def cuped_eligible(metric: Metric) -> bool:
    """User-level means and proportions (one value per unit: its mean over its events)."""
    return (
        metric.unit == "user"
        and metric.kind in ("mean", "proportion")
        and metric.denominator is None
        and not metric.retention_days
    )


def cuped_ratio_eligible(metric: Metric) -> bool:
    """The other user-level metrics, ratios Σx / Σy over units (CUPED on ratio metrics)."""
    return (
        metric.unit == "user"
        and metric.kind != "quantile"
        and not metric.retention_days
        and not cuped_eligible(metric)
    )
