"""bench/stats.py's event loader: numpy generates the experiment's events in chunks, COPY (binary
format) puts each chunk into staging tables, one INSERT ... SELECT per event table builds the rows
(ids, timestamps, JSON) in SQL; the event tables' secondary indexes are dropped before and rebuilt
after. Returns the numpy truth the computation must reproduce."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any

import numpy as np

CALLS_PER_UNIT = 16
FEEDBACK_PER_UNIT = 3
EVENTS_PER_UNIT = 1 + CALLS_PER_UNIT + FEEDBACK_PER_UNIT


@dataclass
class Truth:
    units: dict[str, int]
    error_rate: dict[str, float]
    mean_latency: dict[str, float]
    tokens_per_query: dict[str, float]
    thumbs_up_rate: dict[str, float]
    events: int


# The staging tables the chunks are COPYed into in PostgreSQL's binary format (numpy writes the
# rows, no Python loop per row); one INSERT ... SELECT per chunk builds the event rows (ids,
# timestamps, JSON) from them in SQL.
STAGING = {
    "bench_x": [("u", "int8", ">i8"), ("v", "int2", ">i2"), ("t", "int8", ">i8")],
    "bench_c": [
        ("i", "int8", ">i8"),
        ("u", "int8", ">i8"),
        ("v", "int2", ">i2"),
        ("t", "int8", ">i8"),
        ("prompt", "int8", ">i8"),
        ("completion", "int8", ">i8"),
        ("latency", "float8", ">f8"),
        ("error", "bool", "u1"),
        ("hallucination", "bool", "u1"),
    ],
    "bench_f": [
        ("j", "int8", ">i8"),
        ("c", "int8", ">i8"),
        ("u", "int8", ">i8"),
        ("t", "int8", ">i8"),
        ("up", "bool", "u1"),
    ],
}
CHUNK_UNITS = 25_000  # 500,000 events per chunk: memory does not grow with the total


def _copy_binary(cursor: Any, table: str, arrays: dict[str, np.ndarray]) -> None:
    """COPY the equal-length `arrays` into staging `table` in the binary format."""
    spec = STAGING[table]
    n = len(next(iter(arrays.values())))
    dtype = [("nfields", ">i2")]
    for name, _, code in spec:
        dtype += [(f"{name}_len", ">i4"), (name, code)]
    rows = np.empty(n, dtype=dtype)
    rows["nfields"] = len(spec)
    for name, _, code in spec:
        rows[f"{name}_len"] = np.dtype(code).itemsize
        rows[name] = arrays[name]
    header = b"PGCOPY\n\xff\r\n\x00" + b"\x00" * 8
    with cursor.copy(f"COPY {table} FROM STDIN (FORMAT BINARY)") as copy:
        copy.write(header + rows.tobytes() + b"\xff\xff")


def _insert_sql(experiment: Any) -> list[tuple[str, list[Any]]]:
    """The INSERT ... SELECT statements that turn the staged chunk into event rows."""
    env, key, flag = experiment.environment_id, experiment.key, experiment.flag.key
    control, treatment = experiment.variants[:2]
    start = experiment.started_at
    at = "(%s::timestamptz + t * interval '1 microsecond')"
    variant = "(CASE WHEN v = 1 THEN %s ELSE %s END)"
    return [
        (
            "INSERT INTO feedback_exposure (environment_id, event_id, timestamp, received_at, "
            "flag_key, variant_key, user_key, experiment_key) "
            f"SELECT %s, %s::text || u, {at}, {at}, %s, {variant}, 'b-u' || u, %s FROM bench_x",
            [env, f"b-{key}-x", start, start, flag, treatment, control, key],
        ),
        (
            "INSERT INTO feedback_llmcall (environment_id, event_id, timestamp, received_at, "
            "request_id, conversation_id, user_key, user_tier, feature, model, prompt_tokens, "
            "completion_tokens, ttft_ms, latency_ms, error, error_type, hallucination, "
            "safety_violation, flags, cost_usd, cached_input_tokens, prompt_hash) "
            f"SELECT %s, %s::text || i, {at}, {at}, 'b-r' || i, 'b-s' || u || '-' || (i %% 4), "
            "'b-u' || u, '', '', 'gpt-4o', prompt, completion, latency * 0.3, latency, error, "
            f"'', hallucination, false, jsonb_build_object(%s::text, {variant}), "
            "(prompt * 2.5 + completion * 10) / 1000000.0, 0, '' FROM bench_c",
            [env, f"b-{key}-c", start, start, flag, treatment, control],
        ),
        (
            "INSERT INTO feedback_feedback (environment_id, event_id, timestamp, received_at, "
            "type, comment, category, triage_category, conversation_id, request_id, user_key) "
            f"SELECT %s, %s::text || j, {at}, {at}, "
            "CASE WHEN up THEN 'thumbs_up' ELSE 'thumbs_down' END, '', '', '', "
            "'b-s' || u || '-' || (c %% 4), 'b-r' || c, 'b-u' || u FROM bench_f",
            [env, f"b-{key}-f", start, start],
        ),
    ]


EVENT_TABLES = ("feedback_exposure", "feedback_llmcall", "feedback_feedback")


def _indexes_drop(cursor: Any) -> list[str]:
    """Drop the event tables' secondary indexes (not the primary keys and unique constraints):
    building them once after the load is faster than maintaining them row by row. Returns their
    definitions, for `_indexes_create`."""
    cursor.execute(
        "SELECT i.indexname, i.indexdef FROM pg_indexes i "
        "LEFT JOIN pg_constraint c ON c.conname = i.indexname "
        "WHERE i.tablename = ANY(%s) AND c.conname IS NULL",
        [list(EVENT_TABLES)],
    )
    found = cursor.fetchall()
    for name, _ in found:
        cursor.execute(f'DROP INDEX "{name}"')
    return [definition for _, definition in found]


def _indexes_create(cursor: Any, definitions: list[str]) -> None:
    cursor.execute("SET maintenance_work_mem = '512MB'")
    for definition in definitions:
        cursor.execute(definition)
    cursor.execute("RESET maintenance_work_mem")


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


class _Sums:
    """Per-variant sums over the chunks: the numpy truth the computation must reproduce."""

    def __init__(self) -> None:
        self.sums: dict[str, np.ndarray] = {}

    def add(self, name: str, values: np.ndarray, variant: np.ndarray) -> None:
        found = np.bincount(variant, weights=values.astype(np.float64), minlength=2)
        self.sums[name] = self.sums.get(name, np.zeros(2)) + found

    def __getitem__(self, name: str) -> np.ndarray:
        return self.sums[name]


def _chunk(rng: np.random.Generator, u0: int, units: int, sums: _Sums) -> dict[str, Any]:
    """One chunk of units `u0 .. u0 + units - 1`: their exposures, calls and votes."""
    unit = np.arange(u0, u0 + units, dtype=np.int64)
    unit_variant = rng.integers(0, 2, units).astype(np.int16)
    first = rng.uniform(0, 86_400, units)  # seconds after start
    call_unit = np.repeat(np.arange(units), CALLS_PER_UNIT)
    calls = len(call_unit)
    treated = unit_variant[call_unit] == 1
    call_at = first[call_unit] + rng.uniform(1, 3600, calls)
    error = rng.random(calls) < np.where(treated, 0.006, 0.005)
    latency = rng.lognormal(0, 0.45, calls) * np.where(treated, 1180.0, 1100.0)
    prompt = (rng.lognormal(0, 0.3, calls) * 630).astype(np.int64)
    completion = (rng.lognormal(0, 0.4, calls) * np.where(treated, 290, 270)).astype(np.int64)
    hallucination = rng.random(calls) < np.where(treated, 0.03, 0.04)
    fb = units * FEEDBACK_PER_UNIT
    # Three different calls of each unit (a second vote on the same answer would replace the
    # first: FeedbackQuerySet.current).
    offsets = rng.integers(0, 5, fb) + np.tile([0, 5, 10], units)
    fb_call = offsets + np.repeat(np.arange(units), FEEDBACK_PER_UNIT) * CALLS_PER_UNIT
    up = rng.random(fb) < np.where(treated[fb_call], 0.74, 0.70)
    call_variant = treated.astype(np.int64)
    sums.add("units", np.ones(units), unit_variant.astype(np.int64))
    sums.add("calls", np.ones(calls), call_variant)
    sums.add("errors", error, call_variant)
    sums.add("latency", latency, call_variant)
    sums.add("tokens", prompt + completion, call_variant)
    sums.add("votes", np.ones(fb), call_variant[fb_call])
    sums.add("ups", up, call_variant[fb_call])
    call_index = u0 * CALLS_PER_UNIT + np.arange(calls, dtype=np.int64)

    def us(seconds: np.ndarray) -> np.ndarray:
        return np.round(seconds * 1e6).astype(np.int64)

    return {
        "bench_x": {"u": unit, "v": unit_variant, "t": us(first)},
        "bench_c": {
            "i": call_index,
            "u": unit[call_unit],
            "v": unit_variant[call_unit],
            "t": us(call_at),
            "prompt": prompt,
            "completion": completion,
            "latency": latency,
            "error": error,
            "hallucination": hallucination,
        },
        "bench_f": {
            "j": u0 * FEEDBACK_PER_UNIT + np.arange(fb, dtype=np.int64),
            "c": call_index[fb_call],
            "u": unit[call_unit[fb_call]],
            "t": us(call_at[fb_call]),  # the vote at the call's time (>= first exposure)
            "up": up,
        },
    }


def bench_data_load(experiment: Any, *, events: int, seed: int = 1, load: bool = True) -> Truth:
    """Load about `events` events for `experiment` (running, two variants), generated with
    numpy in chunks of CHUNK_UNITS units, COPYed into staging tables, inserted by SQL; the
    event tables' secondary indexes are dropped before and rebuilt after. Returns the true
    per-variant values the computation must reproduce (only those with `load=False`: the same
    seed generates the same events)."""
    from django.db import connection

    rng = np.random.default_rng(seed)
    total = max(2, events // EVENTS_PER_UNIT)
    variants = experiment.variants
    statements = _insert_sql(experiment)
    sums = _Sums()
    if not load:
        for u0 in range(0, total, CHUNK_UNITS):
            _chunk(rng, u0, min(CHUNK_UNITS, total - u0), sums)
        return _truth(variants, sums, total)
    with connection.cursor() as c:
        cursor = c.cursor  # psycopg's, for COPY
        for table, spec in STAGING.items():
            columns = ", ".join(f"{name} {kind}" for name, kind, _ in spec)
            cursor.execute(f"CREATE TEMP TABLE IF NOT EXISTS {table} ({columns})")
        # Django's foreign keys are deferred: checked per statement instead, no queue of
        # millions of pending checks (and CREATE INDEX refuses a table with pending ones).
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        definitions = _indexes_drop(cursor)
        for u0 in range(0, total, CHUNK_UNITS):
            chunk = _chunk(rng, u0, min(CHUNK_UNITS, total - u0), sums)
            cursor.execute("TRUNCATE " + ", ".join(STAGING))
            for table, arrays in chunk.items():
                _copy_binary(cursor, table, arrays)
            for sql, params in statements:
                cursor.execute(sql, params)
            done = min(total, u0 + CHUNK_UNITS)
            _progress(f"  loaded {done * EVENTS_PER_UNIT:,} / {total * EVENTS_PER_UNIT:,} events")
        _progress("  building the indexes")
        _indexes_create(cursor, definitions)
        cursor.execute("TRUNCATE " + ", ".join(STAGING))
        cursor.execute("ANALYZE " + ", ".join(EVENT_TABLES))

    return _truth(variants, sums, total)


def _truth(variants: list[str], sums: _Sums, units: int) -> Truth:
    def per_variant(num: str, den: str) -> dict[str, float]:
        return {v: float(sums[num][i] / sums[den][i]) for i, v in enumerate(variants)}

    return Truth(
        units={v: int(sums["units"][i]) for i, v in enumerate(variants)},
        error_rate=per_variant("errors", "calls"),
        mean_latency=per_variant("latency", "calls"),
        tokens_per_query=per_variant("tokens", "calls"),
        thumbs_up_rate=per_variant("ups", "votes"),
        events=units * EVENTS_PER_UNIT,
    )
