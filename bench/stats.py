"""Experiment results benchmark: one experiment (2 variants, every catalogue metric) over N
events on PostgreSQL, loaded with COPY.

    DATABASE_URL=postgres://.../flagsite_bench .venv/bin/python bench/stats.py \
        --events 1000000 [--events 10000000] [--python-baseline]

Per run: generate the events with numpy (about 1 exposure, 16 LLM calls and 3 feedback rows per
unit; variant, errors, latency, tokens, cost with known true effects), COPY them into the event
tables, then time `experiment_compute_results` (aggregate SQL + experiments/stats.py) and its
peak Python memory (tracemalloc), and check the SQL's per-variant values against the same sums
computed with numpy on the generated arrays. `--python-baseline` also times loading the same LLM
call rows into Python (what computing without aggregate SQL would start with). The figures of
record are in docs/benchmarks.md; tests/experiments/test_bench.py runs the same code at 100 k
events and checks results, not times.
"""

from __future__ import annotations

import argparse
import io
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


def _copy(cursor: Any, table: str, columns: list[str], lines: list[str]) -> None:
    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        buffer = io.StringIO()
        for n, line in enumerate(lines, 1):
            buffer.write(line)
            if n % 50_000 == 0:
                copy.write(buffer.getvalue())
                buffer = io.StringIO()
        copy.write(buffer.getvalue())


def bench_data_load(experiment: Any, *, events: int, seed: int = 1) -> Truth:
    """COPY about `events` events for `experiment` (running, two variants); returns the true
    per-variant values the computation must reproduce."""
    from django.db import connection

    rng = np.random.default_rng(seed)
    units = max(2, events // EVENTS_PER_UNIT)
    variants = experiment.variants
    env = experiment.environment_id
    start = experiment.started_at or datetime.now(UTC) - timedelta(days=2)
    unit_variant = rng.integers(0, 2, units)
    first = rng.uniform(0, 86_400, units)  # seconds after start
    calls = units * CALLS_PER_UNIT
    call_unit = np.repeat(np.arange(units), CALLS_PER_UNIT)
    treated = unit_variant[call_unit] == 1
    call_at = first[call_unit] + rng.uniform(1, 3600, calls)
    error = rng.random(calls) < np.where(treated, 0.006, 0.005)
    # Rounded as written (3 decimals), so the truth is what the table holds.
    latency = np.round(rng.lognormal(0, 0.45, calls) * np.where(treated, 1180.0, 1100.0), 3)
    prompt = (rng.lognormal(0, 0.3, calls) * 630).astype(np.int64)
    completion = (rng.lognormal(0, 0.4, calls) * np.where(treated, 290, 270)).astype(np.int64)
    hallucination = rng.random(calls) < np.where(treated, 0.03, 0.04)
    cost = (prompt * 2.5 + completion * 10) / 1e6
    fb = units * FEEDBACK_PER_UNIT
    # Three different calls of each unit (a second vote on the same answer would replace the
    # first: FeedbackQuerySet.current).
    offsets = rng.integers(0, 5, fb) + np.tile([0, 5, 10], units)
    fb_call = offsets + np.repeat(np.arange(units), FEEDBACK_PER_UNIT) * CALLS_PER_UNIT
    up = rng.random(fb) < np.where(treated[fb_call], 0.74, 0.70)
    key = experiment.key

    def ts(seconds: np.ndarray) -> list[str]:
        base = np.datetime64(start.replace(tzinfo=None).isoformat(), "us")
        stamps = base + (seconds * 1e6).astype("timedelta64[us]")
        return [f"{s}+00" for s in stamps.astype(str)]

    first_ts, call_ts = ts(first), ts(call_at)
    fb_ts = [call_ts[i] for i in fb_call]  # the vote at the call's time (>= first exposure)
    with connection.cursor() as c:
        cursor = c.cursor  # psycopg's, for COPY
        _copy(
            cursor,
            "feedback_exposure",
            [
                "environment_id",
                "event_id",
                "timestamp",
                "received_at",
                "flag_key",
                "variant_key",
                "user_key",
                "experiment_key",
            ],
            [
                f"{env}\tb-{key}-x{u}\t{first_ts[u]}\t{first_ts[u]}\t{experiment.flag.key}\t"
                f"{variants[unit_variant[u]]}\tb-u{u}\t{key}\n"
                for u in range(units)
            ],
        )
        flag = experiment.flag.key
        _copy(
            cursor,
            "feedback_llmcall",
            [
                "environment_id",
                "event_id",
                "timestamp",
                "received_at",
                "request_id",
                "conversation_id",
                "user_key",
                "user_tier",
                "feature",
                "model",
                "prompt_tokens",
                "completion_tokens",
                "ttft_ms",
                "latency_ms",
                "error",
                "error_type",
                "hallucination",
                "safety_violation",
                "flags",
                "cost_usd",
                "cached_input_tokens",
                "prompt_hash",
            ],
            [
                f"{env}\tb-{key}-c{i}\t{call_ts[i]}\t{call_ts[i]}\tb-r{i}\t"
                f"b-s{call_unit[i]}-{i % 4}\tb-u{call_unit[i]}\t\t\tgpt-4o\t{prompt[i]}\t"
                f"{completion[i]}\t{latency[i] * 0.3:.3f}\t{latency[i]}\t"
                f"{'t' if error[i] else 'f'}\t\t{'t' if hallucination[i] else 'f'}\tf\t"
                f'{{"{flag}": "{variants[unit_variant[call_unit[i]]]}"}}\t{cost[i]:.10f}\t0\t\n'
                for i in range(calls)
            ],
        )
        _copy(
            cursor,
            "feedback_feedback",
            [
                "environment_id",
                "event_id",
                "timestamp",
                "received_at",
                "type",
                "comment",
                "category",
                "triage_category",
                "conversation_id",
                "request_id",
                "user_key",
            ],
            [
                f"{env}\tb-{key}-f{j}\t{fb_ts[j]}\t{fb_ts[j]}\t"
                f"{'thumbs_up' if up[j] else 'thumbs_down'}\t\t\t\t"
                f"b-s{call_unit[fb_call[j]]}-{fb_call[j] % 4}\tb-r{fb_call[j]}\t"
                f"b-u{call_unit[fb_call[j]]}\n"
                for j in range(fb)
            ],
        )
        c.execute("ANALYZE feedback_exposure; ANALYZE feedback_llmcall; ANALYZE feedback_feedback")
    truth: dict[str, dict[str, float]] = {k: {} for k in ("e", "l", "t", "u")}
    units_by: dict[str, int] = {}
    fb_treated = treated[fb_call]
    for index, variant in enumerate(variants):
        mask = treated if index == 1 else ~treated
        fmask = fb_treated if index == 1 else ~fb_treated
        units_by[variant] = int((unit_variant == index).sum())
        truth["e"][variant] = float(error[mask].mean())
        truth["l"][variant] = float(latency[mask].mean())
        truth["t"][variant] = float((prompt[mask] + completion[mask]).sum() / mask.sum())
        truth["u"][variant] = float(up[fmask].mean())
    return Truth(
        units=units_by,
        error_rate=truth["e"],
        mean_latency=truth["l"],
        tokens_per_query=truth["t"],
        thumbs_up_rate=truth["u"],
        events=units + calls + fb,
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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, action="append")
    parser.add_argument("--python-baseline", action="store_true")
    args = parser.parse_args()
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
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
        t0 = time.perf_counter()
        truth = bench_data_load(experiment, events=events)
        load_s = time.perf_counter() - t0
        tracemalloc.start()
        t0 = time.perf_counter()
        result = experiment_compute_results(experiment_id=experiment.pk, now=timezone.now())
        compute_s = time.perf_counter() - t0
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert result is not None
        problems = results_check(result.data, truth)
        print(
            f"events {truth.events:>11,}: load (numpy + COPY) {load_s:7.1f} s, "
            f"compute every metric {compute_s:6.1f} s, peak Python memory {peak / 1e6:6.1f} MB, "
            f"results {problems or 'match numpy'}",
            flush=True,
        )
        if args.python_baseline:
            t0 = time.perf_counter()
            rows = 0
            for _ in LlmCall.objects.values_list(
                "user_key", "latency_ms", "error", "prompt_tokens", "completion_tokens", "cost_usd"
            ).iterator(chunk_size=20_000):
                rows += 1
            python_s = time.perf_counter() - t0
            print(
                f"  loading the {rows:,} LLM call rows into Python alone: {python_s:6.1f} s "
                f"({python_s / compute_s:.1f}x the whole SQL computation)"
            )


if __name__ == "__main__":
    main()
