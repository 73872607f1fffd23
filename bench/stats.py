"""Experiment results benchmark: one experiment (2 variants, every catalogue metric) over N
events on PostgreSQL.

    DATABASE_URL=postgres://.../flagsite_bench .venv/bin/python bench/stats.py \
        --events 1000000 [--events 10000000] [--python-baseline]

Per run: generate the events with numpy in chunks of 25,000 units (about 1 exposure, 16 LLM calls
and 3 feedback rows per unit; variant, errors, latency, tokens, cost with known true effects),
COPY each chunk into staging tables in PostgreSQL's binary format and build the event rows from
them with one INSERT ... SELECT per table (the event tables' secondary indexes are dropped before
and rebuilt after the load); then time `experiment_compute_results` (aggregate SQL +
experiments/stats.py), per query family, and its peak Python memory (tracemalloc), and check
the SQL's per-variant values against the same sums computed with numpy on the generated arrays.
Progress goes to stderr, the load average before and after the computation is printed with the
figures. `--python-baseline` also times loading the same LLM call rows into Python (what
computing without aggregate SQL would start with; at 1 M events). The figures of record are in
docs/benchmarks.md; tests/experiments/test_bench.py runs the same code at 100 k events and checks
results, not times.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import tracemalloc
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "flagsite.settings")
os.environ.setdefault("SECRET_KEY", "bench-only")

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


def bench_data_load(experiment: Any, *, events: int, seed: int = 1) -> Truth:
    """Load about `events` events for `experiment` (running, two variants), generated with
    numpy in chunks of CHUNK_UNITS units, COPYed into staging tables, inserted by SQL; the
    event tables' secondary indexes are dropped before and rebuilt after. Returns the true
    per-variant values the computation must reproduce."""
    from django.db import connection

    rng = np.random.default_rng(seed)
    total = max(2, events // EVENTS_PER_UNIT)
    variants = experiment.variants
    statements = _insert_sql(experiment)
    sums = _Sums()
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

    def per_variant(num: str, den: str) -> dict[str, float]:
        return {v: float(sums[num][i] / sums[den][i]) for i, v in enumerate(variants)}

    return Truth(
        units={v: int(sums["units"][i]) for i, v in enumerate(variants)},
        error_rate=per_variant("errors", "calls"),
        mean_latency=per_variant("latency", "calls"),
        tokens_per_query=per_variant("tokens", "calls"),
        thumbs_up_rate=per_variant("ups", "votes"),
        events=total * EVENTS_PER_UNIT,
    )


def bench_experiment(key: str = "bench") -> Any:
    """A running experiment on the demo's llm-model flag in development, every metric."""
    from experiments.lifecycle import experiment_create, experiment_start
    from experiments.metrics import CATALOGUE
    from flags.changes import Actor
    from flags.demo import demo_data_load
    from flags.models import Environment, Flag

    demo_data_load()
    actor = Actor(label="bench")
    experiment = experiment_create(
        flag=Flag.objects.get(key="llm-model"),
        environment=Environment.objects.get(key="development"),
        key=key,
        name="bench",
        control="gpt-4",
        treatments=["gpt-4-turbo"],
        primary_metric="thumbs_up_rate",
        secondary_metrics=[k for k in CATALOGUE if k != "thumbs_up_rate"],
        actor=actor,
    )
    experiment = experiment_start(experiment=experiment, actor=actor)
    experiment.started_at = (experiment.started_at or datetime.now(UTC)) - timedelta(days=2)
    experiment.save(update_fields=["started_at"])
    return experiment


def results_check(data: dict[str, Any], truth: Truth) -> list[str]:
    """Differences between the snapshot and the numpy truth (empty: all agree to 1e-9)."""
    problems = []
    if data["units"] != truth.units:
        problems.append(f"units {data['units']} != {truth.units}")
    rows = {r["metric"]: r for r in data["metrics"]}
    for metric, expected in (
        ("error_rate", truth.error_rate),
        ("mean_latency_ms", truth.mean_latency),
        ("tokens_per_query", truth.tokens_per_query),
        ("thumbs_up_rate", truth.thumbs_up_rate),
    ):
        for variant, value in expected.items():
            got = rows[metric]["values"][variant]["value"]
            if got is None or abs(got - value) > 1e-9 * max(1.0, abs(value)):
                problems.append(f"{metric}[{variant}] = {got}, expected {value}")
    return problems


class _Timings:
    """Seconds spent in each of experiments/sufficient.py's family queries (wrapped while the
    benchmark computes): what the compute time is made of."""

    FAMILIES = (
        "assignments_refresh",
        "units_by_variant",
        "request_level",
        "user_level",
        "retention",
        "quantiles",
        "cuped",
    )

    def __init__(self) -> None:
        from experiments import event_rows, sufficient

        self.seconds: dict[str, float] = {}
        self.saved = [(sufficient, name, getattr(sufficient, name)) for name in self.FAMILIES]
        # Building the shared lookup tables, inside the first family that reads each.
        self.saved.append((event_rows, "_set", event_rows._set))

    def __enter__(self) -> _Timings:
        for module, name, function in self.saved:
            setattr(module, name, self._timed(name, function))
        return self

    def __exit__(self, *exc: object) -> None:
        for module, name, function in self.saved:
            setattr(module, name, function)

    def _timed(self, name: str, function: Any) -> Any:
        def timed(*args: Any, **kwargs: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                label = name
                if name == "_set":
                    label = f"lookup {args[0]} (within the above)"
                elif len(args) > 1 and isinstance(args[1], str):  # the family's source
                    label = f"{name}({args[1]})"
                elif len(args) > 1 and hasattr(args[1], "key"):  # one metric's query
                    label = f"{name}({args[1].key})"
                self.seconds[label] = self.seconds.get(label, 0.0) + time.perf_counter() - t0

        return timed

    def __str__(self) -> str:
        return ", ".join(f"{k} {v:.1f} s" for k, v in self.seconds.items())


def _loadavg() -> str:
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "n/a"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, action="append")
    parser.add_argument("--python-baseline", action="store_true")
    args = parser.parse_args()
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction
    from django.utils import timezone

    from experiments.compute import experiment_compute_results
    from feedback.models import LlmCall

    if connection.vendor != "postgresql":
        sys.exit("bench/stats.py needs PostgreSQL: set DATABASE_URL=postgres://...")
    call_command("migrate", verbosity=0)
    for n, events in enumerate(args.events or [1_000_000]):
        with connection.cursor() as c:  # a clean slate per size
            c.execute(
                "TRUNCATE feedback_exposure, feedback_llmcall, feedback_feedback, "
                "feedback_score, feedback_implicitsignal, experiments_experimentresult, "
                "experiments_assignment"
            )
        from experiments.models import Experiment

        for old in Experiment.objects.filter(status="running"):
            from experiments.lifecycle import experiment_stop
            from flags.changes import Actor

            experiment_stop(experiment=old, actor=Actor(label="bench"))
        experiment = bench_experiment(f"bench-{n}-{int(time.time())}")
        _progress(f"{events:,} events: loading (load average {_loadavg()})")
        t0 = time.perf_counter()
        with transaction.atomic():
            truth = bench_data_load(experiment, events=events)
        load_s = time.perf_counter() - t0
        before = _loadavg()
        _progress(f"  loaded in {load_s:.1f} s; computing (load average {before})")
        tracemalloc.start()
        t0 = time.perf_counter()
        with _Timings() as timings:
            result = experiment_compute_results(experiment_id=experiment.pk, now=timezone.now())
        compute_s = time.perf_counter() - t0
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert result is not None
        problems = results_check(result.data, truth)
        print(
            f"events {truth.events:>11,}: load (numpy + COPY + indexes) {load_s:7.1f} s, "
            f"compute every metric {compute_s:6.1f} s, peak Python memory {peak / 1e6:6.1f} MB, "
            f"results {problems or 'match numpy'}; load average before / after compute "
            f"{before} / {_loadavg()}",
            flush=True,
        )
        print(f"  per family: {timings}", flush=True)
        if args.python_baseline and events <= 1_000_000:  # the ratio at 1 M (minutes at 10 M)
            t0 = time.perf_counter()
            rows = 0
            for _ in LlmCall.objects.values_list(
                "user_key", "latency_ms", "error", "prompt_tokens", "completion_tokens", "cost_usd"
            ).iterator(chunk_size=20_000):
                rows += 1
            python_s = time.perf_counter() - t0
            print(
                f"  loading the {rows:,} LLM call rows into Python alone: {python_s:6.1f} s "
                f"({python_s / compute_s:.1f}x the whole SQL computation)",
                flush=True,
            )
        if problems:
            sys.exit(1)


if __name__ == "__main__":
    main()
