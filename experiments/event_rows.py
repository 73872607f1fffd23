"""The per-event rows the metric families of experiments/sufficient.py aggregate: one SELECT per
event source and family, in either database's dialect (docs/experiments.md, "Computation").

A metric's per-event value is its catalogue expression, compiled by the ORM into the SELECT.
Except for the catalogue's costly lookups, which experiments/metrics.py writes as correlated
`EXISTS` (what the flag page's outcomes and rollout gates evaluate over a few thousand rows):
here each becomes a join on a set aggregated once per query, so an event row costs a hash probe,
not an index probe:

- `judged`: per request_id, whether a `hallucination` / `safety_violation` score >= 0.5 or a
  thumbs-down categorised hallucination / safety (user's or triage) exists in the environment;
- `completed`: the environment's conversations with a `task_completed` signal;
- `first`: per conversation, the id of its first call (earliest timestamp, then lowest id);
- feedback's current votes (`FeedbackQuerySet.current()`): per (conversation, request, user),
  the id of the latest vote (latest timestamp, then highest id).

Same numbers as the expressions (tests/experiments/test_event_rows.py compares both paths);
`JOINS = False` computes with the expressions instead.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from django.db import connection
from django.db.models import Case, Count, F, FloatField, Max, Min, Q, QuerySet, Value, When
from django.db.models.expressions import RawSQL
from django.db.models.functions import Cast

from feedback.models import (
    Category,
    Feedback,
    FeedbackQuerySet,
    FeedbackType,
    ImplicitSignal,
    LlmCall,
    Score,
    Signal,
)

from .metrics import CATALOGUE, Metric

MODELS: dict[str, Any] = {
    "llm_call": LlmCall,
    "feedback": Feedback,
    "score": Score,
    "implicit": ImplicitSignal,  # team metrics only (experiments.team_metrics)
}
JOINS = True  # False: every per-event value from the catalogue's expressions (tests compare)
# The judgements `_judged` in experiments/metrics.py reads: label -> thumbs-down category.
JUDGED = {"hallucination": Category.HALLUCINATION, "safety_violation": Category.SAFETY}


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


def epoch_sql(column: str) -> str:
    """Seconds since 1970 of a datetime column, in this database's dialect."""
    if connection.vendor == "postgresql":
        return f"EXTRACT(EPOCH FROM {column})"
    return f"((julianday({column}) - 2440587.5) * 86400.0)"


def _double(sql: str) -> str:
    """As Django's Cast(..., FloatField()) types it."""
    kind = "double precision" if connection.vendor == "postgresql" else "REAL"
    return f"CAST({sql} AS {kind})"


def _as_float(value: Any) -> Any:
    return Cast(F(value) if isinstance(value, str) else value, FloatField())


def _when(metric: Metric, expression: Any) -> Any:
    if not metric.where:
        return expression
    return Case(When(metric.where, then=expression), default=None, output_field=FloatField())


def _flag(condition: Q) -> Case:
    return Case(When(condition, then=Value(1)), default=Value(0))


@dataclass(frozen=True)
class Joined:
    """A per-event value computed in the outer SELECT from the event row's `parts` (ORM
    expressions, selected as e.<name>) and the aggregated sets it joins (`lookups`)."""

    sql: str
    lookups: frozenset[str]
    parts: dict[str, Any] = field(default_factory=dict)


def _judged_sql(label: str, own: str) -> str:
    return f"CASE WHEN e.{own} = 1 OR j.{label} = 1 THEN 1 ELSE 0 END"


def _joined(metric: Metric, part: str, name: str) -> Joined | None:
    """The joined form of a catalogue metric's value (`part` "value") or denominator, None for
    anything else (computed from its expression)."""
    if not JOINS or CATALOGUE.get(metric.key) is not metric:
        return None
    key = (metric.key, part)
    if key in (("hallucination_rate", "value"), ("safety_violation_rate", "value")):
        label = "hallucination" if metric.key == "hallucination_rate" else "safety_violation"
        own = f"{name}_own"
        return Joined(
            _judged_sql(label, own), frozenset({"judged"}), {own: _flag(Q(**{label: True}))}
        )
    if key == ("task_completion_rate", "value"):
        return Joined("CASE WHEN c.done = 1 THEN 1 ELSE 0 END", frozenset({"completed"}))
    if key == ("queries_per_session", "denominator"):
        return Joined(
            "CASE WHEN e.xcv <> '' AND e.xid = f.fid THEN 1 ELSE 0 END", frozenset({"first"})
        )
    return None


def per_event(metric: Metric, part: str, name: str) -> Any:
    """Column `name` of the event rows: the metric's value (or denominator: None -> 1 per
    event) where its `where` holds, NULL elsewhere."""
    joined = _joined(metric, part, name)
    if joined is None:
        expression = metric.value if part == "value" else metric.denominator
        if expression is None:
            expression = Value(1.0)
        return _when(metric, _as_float(expression))
    if not metric.where:
        return joined
    where = f"{name}_where"
    return Joined(
        f"CASE WHEN e.{where} = 1 THEN {joined.sql} END",
        joined.lookups,
        {**joined.parts, where: _flag(metric.where)},
    )


class Select:
    """An aggregate SELECT list without repeats: `add` gives an expression's position (the
    same expression twice, e.g. two metrics over the same column, is computed once)."""

    def __init__(self) -> None:
        self.items: dict[str, int] = {}

    def add(self, sql: str) -> int:
        return self.items.setdefault(sql, len(self.items))

    def sql(self, alias: str = "") -> str:
        return ", ".join(f"{s} AS {alias}{i}" if alias else s for s, i in self.items.items())


def column(columns: dict[str, Any], metric: Metric, part: str) -> str:
    """The event rows' column of the metric's value (or denominator), shared by metrics with
    the same expression."""
    name = f"x{part[0]}{len(columns)}"
    found = per_event(metric, part, name)
    if not isinstance(found, Joined):
        for existing, other in columns.items():
            if not isinstance(other, Joined) and other == found:
                return f"e.{existing}"
    columns[name] = found
    return f"e.{name}"


# --- the aggregated sets --------------------------------------------------------------------
_TABLES: ContextVar[dict[tuple[Any, ...], str] | None] = ContextVar("lookup_tables", default=None)
_names = itertools.count()
# Per sort or hash of the computation's queries on PostgreSQL (the default 4MB spills the
# per-unit grouping of a few million events to disk): a few of them at once per worker.
WORK_MEM = "128MB"


@contextmanager
def materialised() -> Iterator[None]:
    """Within: each aggregated set is computed once into a table (UNLOGGED on PostgreSQL in a
    transaction, else temporary; ANALYZEd on PostgreSQL, so the planner knows its size and
    hash-joins it) and shared by the queries that read it; dropped at the end (on an error,
    with the transaction's rollback). In a transaction on PostgreSQL, also `SET LOCAL`
    work_mem (WORK_MEM), hash_mem_multiplier and jit = off for its remainder."""
    tables: dict[tuple[Any, ...], str] = {}
    if connection.vendor == "postgresql" and connection.in_atomic_block:
        with connection.cursor() as cursor:  # until the computation's transaction ends
            cursor.execute(f"SET LOCAL work_mem = '{WORK_MEM}'")
            # Hashes (the per-unit grouping: its size grows with units, not events) up to 4x.
            cursor.execute("SET LOCAL hash_mem_multiplier = 4")
            # JIT compiled the queries' ~160 expressions again in each parallel worker: 11 s of
            # compilation in the 10 M LLM-call query, more than it saved (docs/benchmarks.md).
            cursor.execute("SET LOCAL jit = off")
    token = _TABLES.set(tables)
    try:
        yield
    except BaseException:
        _TABLES.reset(token)
        raise
    _TABLES.reset(token)
    with connection.cursor() as cursor:
        for name in tables.values():
            cursor.execute(f"DROP TABLE {name}")


def _set(kind: str, sql: str, params: list[Any]) -> tuple[str, list[Any]]:
    """A FROM item for the set: its table within `materialised()`, else a derived
    table."""
    tables = _TABLES.get()
    if tables is None:
        return f"({sql})", params
    key = (kind, sql, *params)
    if key not in tables:
        name = f"flagsite_lookup_{kind}_{next(_names)}"
        persistence = "TEMPORARY"
        if connection.vendor == "postgresql" and connection.in_atomic_block:
            # Any query that reads a temporary table is parallel-restricted: the event scans
            # joined to these sets ran on one core. An UNLOGGED table (no WAL) lets them scan
            # and aggregate in parallel workers. Created in the computation's transaction, so
            # a rollback removes it; the backend's pid keeps two computations' names apart.
            persistence = "UNLOGGED"
            name = f"{name}_{connection.connection.info.backend_pid}"
        with connection.cursor() as cursor:
            cursor.execute(f"CREATE {persistence} TABLE {name} AS {sql}", params)
            if connection.vendor == "postgresql":
                cursor.execute(f"ANALYZE {name}")
        tables[key] = name
    return tables[key], []


def _sql(rows: QuerySet) -> tuple[str, list[Any]]:
    sql, params = rows.query.sql_with_params()
    return sql, list(params)


def _judged(env_id: int) -> tuple[str, list[Any]]:
    scored = (
        Score.objects.filter(environment_id=env_id, name__in=list(JUDGED), value__gte=0.5)
        .exclude(request_id="")
        .values(rq=F("request_id"), **{k: _flag(Q(name=k)) for k in JUDGED})
    )
    categories = list(JUDGED.values())
    voted = (
        Feedback.objects.filter(environment_id=env_id, type=FeedbackType.THUMBS_DOWN)
        .filter(Q(category__in=categories) | Q(triage_category__in=categories))
        .exclude(request_id="")
        .values(
            rq=F("request_id"),
            **{k: _flag(Q(category=c) | Q(triage_category=c)) for k, c in JUDGED.items()},
        )
    )
    s_sql, s_params = _sql(scored.order_by())
    v_sql, v_params = _sql(voted.order_by())
    labels = ", ".join(f"MAX(x.{k}) AS {k}" for k in JUDGED)
    sql = f"SELECT x.rq AS rq, {labels} FROM ({s_sql} UNION ALL {v_sql}) x GROUP BY x.rq"
    return sql, s_params + v_params


def _completed(env_id: int) -> tuple[str, list[Any]]:
    rows = (
        ImplicitSignal.objects.filter(environment_id=env_id, signal=Signal.TASK_COMPLETED)
        .values(cv=F("conversation_id"))
        .order_by()
        .distinct()
    )
    sql, params = _sql(rows)
    return f"SELECT d.cv AS cv, 1 AS done FROM ({sql}) d", params


def _first(env_id: int, until: datetime) -> tuple[str, list[Any]]:
    """Per conversation, the id of its first call: the lowest id at the earliest timestamp
    (calls before `until` suffice: an earlier call of an event before `until` is one too).
    PostgreSQL: DISTINCT ON; elsewhere MIN(timestamp) per conversation joined back for the id."""
    earliest = (
        LlmCall.objects.filter(environment_id=env_id, timestamp__lt=until)
        .exclude(conversation_id="")
        .values("conversation_id")
        .annotate(t0=Min("timestamp"))
        .values(cv=F("conversation_id"), t0=F("t0"))
        .order_by()
    )
    table = _q(LlmCall._meta.db_table)
    if connection.vendor == "postgresql":
        # One ordered pass instead of two and a join: in the order of the index
        # llmcall_env_conv_time (environment, conversation, timestamp, id), an index-only scan
        # with no sort (sorting the 8 M calls of 10 M events took 7-13 s, this 3-4.5 s).
        return (
            f"SELECT DISTINCT ON (conversation_id) conversation_id AS cv, id AS fid FROM {table} "
            "WHERE environment_id = %s AND conversation_id <> '' AND timestamp < %s "
            "ORDER BY conversation_id, timestamp, id",
            [env_id, until],
        )
    m_sql, m_params = _sql(earliest)
    sql = (
        f"SELECT c.{_q('conversation_id')} AS cv, MIN(c.{_q('id')}) AS fid FROM {table} c "
        f"JOIN ({m_sql}) m ON m.cv = c.{_q('conversation_id')} AND c.{_q('timestamp')} = m.t0 "
        f"WHERE c.{_q('environment_id')} = %s GROUP BY c.{_q('conversation_id')}"
    )
    return sql, [*m_params, env_id]


def _latest_votes(env_id: int) -> tuple[str, list[Any]]:
    """Per response (conversation, request) and user with more than one vote, the id of the
    latest vote: the highest id at the latest timestamp (FeedbackQuerySet.superseded(), any
    time). A single vote is its own latest, so those (most) are left out of the table."""
    keys = ("conversation_id", "request_id", "user_key")
    latest = (
        Feedback.objects.filter(environment_id=env_id)
        .exclude(user_key="")
        .filter(~Q(request_id="") | ~Q(conversation_id=""))
        .values(*keys)
        .annotate(t1=Max("timestamp"), votes=Count("id"))
        .filter(votes__gt=1)
        .values(cv=F("conversation_id"), rq=F("request_id"), uk=F("user_key"), t1=F("t1"))
        .order_by()
    )
    # Its own table (one aggregate, not one per parallel worker of the join below).
    voted, m_params = _set("voted", *_sql(latest))
    table = _q(Feedback._meta.db_table)
    c = {k: f"f.{_q(k)}" for k in (*keys, "timestamp", "id", "environment_id")}
    sql = (
        f"SELECT {c['conversation_id']} AS cv, {c['request_id']} AS rq, {c['user_key']} AS uk, "
        f"MAX({c['id']}) AS lid FROM {table} f JOIN {voted} m "
        f"ON m.cv = {c['conversation_id']} AND m.rq = {c['request_id']} "
        f"AND m.uk = {c['user_key']} AND {c['timestamp']} = m.t1 "
        f"WHERE {c['environment_id']} = %s "
        f"GROUP BY {c['conversation_id']}, {c['request_id']}, {c['user_key']}"
    )
    return sql, [*m_params, env_id]


# --- the event rows -------------------------------------------------------------------------
def events(
    source: str,
    env_id: int,
    since: datetime,
    until: datetime,
    columns: dict[str, Any],
    lookups_until: datetime | None = None,
) -> tuple[str, list[Any]]:
    """The per-event SELECT of `source` in environment `env_id` between `since` and `until`
    (events with a user_key; feedback: current votes only): columns xu (unit), xts, xep (epoch
    seconds) and `columns` (from `per_event`). The lookups the columns join are built up to
    `lookups_until` when given (at least `until`), else `until`."""
    model = MODELS[source]
    rows: QuerySet = (
        model.objects.filter(environment_id=env_id, timestamp__gte=since, timestamp__lt=until)
        .exclude(user_key="")
        .order_by()  # (Feedback's default ordering: a sort for nothing)
    )
    plain = {k: v for k, v in columns.items() if not isinstance(v, Joined)}
    joined = {k: v for k, v in columns.items() if isinstance(v, Joined)}
    current_join = model is Feedback and JOINS
    if model is Feedback and not JOINS:
        rows = cast(FeedbackQuerySet, rows).current()  # a changed vote counts once
    table = f"{_q(model._meta.db_table)}.{_q('timestamp')}"
    keys: dict[str, Any] = {}
    if joined or current_join:
        keys = {"xid": F("id"), "xcv": F("conversation_id")}
        if model is not ImplicitSignal:
            keys["xrq"] = F("request_id")
    parts = {k: v for j in joined.values() for k, v in j.parts.items()}
    rows = rows.values(
        xu=F("user_key"),
        xts=F("timestamp"),
        xep=RawSQL(epoch_sql(table), []),
        **plain,
        **keys,
        **parts,
    )
    sql, params = _sql(rows)
    if not joined and not current_join:
        return sql, params
    lookups = set().union(*(j.lookups for j in joined.values()))
    select = ["e.xu AS xu", "e.xts AS xts", "e.xep AS xep"]
    select += [f"e.{k} AS {k}" for k in plain]
    select += [f"{_double(j.sql)} AS {k}" for k, j in joined.items()]
    joins: list[str] = []
    args: list[Any] = []
    for name, (build, on) in _LOOKUPS.items():
        if name in lookups:
            # A later horizon gives the same answers for these events (a conversation's first
            # call is the earliest one): the pre-period's query shares the window's table.
            table, lookup_params = _set(name, *build(env_id, lookups_until or until))
            joins.append(f"LEFT JOIN {table} {on}")
            args += lookup_params
    where = ""
    if current_join:
        # A vote is replaced when its response and user have a later vote (an anti-join).
        table, lookup_params = _set("votes", *_latest_votes(env_id))
        where = (
            f" WHERE NOT EXISTS (SELECT 1 FROM {table} v WHERE v.cv = e.xcv AND v.rq = e.xrq "
            "AND v.uk = e.xu AND v.lid <> e.xid)"
        )
        args += lookup_params
    outer = f"SELECT {', '.join(select)} FROM ({sql}) e {' '.join(joins)}{where}"
    return outer, params + args


_LOOKUPS: dict[str, tuple[Any, str]] = {
    "judged": (lambda env, until: _judged(env), "j ON j.rq = e.xrq"),
    "completed": (lambda env, until: _completed(env), "c ON c.cv = e.xcv"),
    "first": (_first, "f ON f.cv = e.xcv"),
}
