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
figures, and so is a yardstick measured in the same run: one plain scan summing the same LLM
calls, and the computation's time as a multiple of it (comparable between machines).
`--python-baseline` also times loading the same LLM call rows into Python (what computing
without aggregate SQL would start with; at 1 M events). The figures of record are in
docs/benchmarks.md; tests/experiments/test_bench.py runs the same code at 100 k events and checks
results, not times.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "flagsite.settings")
os.environ.setdefault("SECRET_KEY", "bench-only")

from bench.stats_load import (
    Truth,
    _progress,
    bench_data_load,
)

__all__ = ["bench_data_load", "bench_experiment", "results_check"]


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
    """Seconds spent in each of the computation's family queries (experiments/assignments.py
    and experiments/sufficient.py, wrapped while the benchmark computes): what the compute time
    is made of."""

    FAMILIES = (
        ("assignments", "assignments_refresh"),
        ("assignments", "units_by_variant"),
        ("sufficient", "source_moments"),
        ("sufficient", "retention"),
        ("sufficient", "quantiles"),
    )

    def __init__(self) -> None:
        from experiments import assignments, event_rows, sufficient

        modules = {"assignments": assignments, "sufficient": sufficient}
        self.seconds: dict[str, float] = {}
        self.saved = [
            (modules[module], name, getattr(modules[module], name))
            for module, name in self.FAMILIES
        ]
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


def _yardstick(experiment: Any) -> tuple[float, int]:
    """(seconds, rows) of the least any SQL computation of these metrics must do, timed in the
    same process on the same machine: one plain (parallel) scan of the environment's LLM calls
    summing two columns, no join, no grouping; the best of two (the first warms the cache as
    the computation's own scans are warm). The computation's time over this is comparable
    between machines where seconds are not (docs/benchmarks.md)."""
    from django.db import connection, transaction

    best, rows = float("inf"), 0
    for _ in range(2):
        with transaction.atomic(), connection.cursor() as c:
            c.execute("SET LOCAL jit = off")  # as the computation runs
            t0 = time.perf_counter()
            c.execute(
                "SELECT COUNT(*), SUM(latency_ms), SUM(cost_usd::float8) FROM feedback_llmcall "
                "WHERE environment_id = %s",
                [experiment.environment_id],
            )
            rows = int(c.fetchone()[0])
            best = min(best, time.perf_counter() - t0)
    return best, rows


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
    parser.add_argument(
        "--compute-only",
        action="store_true",
        help="compute again over the events the last run loaded (same --events): no load",
    )
    args = parser.parse_args()
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction

    from experiments.models import Experiment

    if connection.vendor != "postgresql":
        sys.exit("bench/stats.py needs PostgreSQL: set DATABASE_URL=postgres://...")
    call_command("migrate", verbosity=0)
    for n, events in enumerate(args.events or [1_000_000]):
        if args.compute_only:
            _compute(Experiment.objects.filter(status="running").latest("id"), events, args)
            continue
        with connection.cursor() as c:  # a clean slate per size
            c.execute(
                "TRUNCATE feedback_exposure, feedback_llmcall, feedback_feedback, "
                "feedback_score, feedback_implicitsignal, experiments_experimentresult, "
                "experiments_assignment"
            )
        for old in Experiment.objects.filter(status="running"):
            from experiments.lifecycle import experiment_stop
            from flags.changes import Actor

            experiment_stop(experiment=old, actor=Actor(label="bench"))
        experiment = bench_experiment(f"bench-{n}-{int(time.time())}")
        _progress(f"{events:,} events: loading (load average {_loadavg()})")
        t0 = time.perf_counter()
        with transaction.atomic():
            truth = bench_data_load(experiment, events=events)
        with connection.cursor() as c:
            # What autovacuum does to an insert-only table after a bulk insert (outside the
            # load's transaction): the visibility map, so the first-call lookup's index-only
            # scan of llmcall_env_conv_time reads no heap pages.
            c.execute("VACUUM feedback_llmcall, feedback_feedback, feedback_exposure")
        load_s = time.perf_counter() - t0
        _progress(f"  loaded in {load_s:.1f} s")
        _compute(experiment, events, args, truth=truth, load_s=load_s)


def _compute(
    experiment: Any, events: int, args: Any, *, truth: Truth | None = None, load_s: float = 0.0
) -> None:
    """Time the computation over the loaded events, check it against numpy, print."""
    from django.utils import timezone

    from experiments.compute import experiment_compute_results
    from feedback.models import LlmCall

    if truth is None:
        truth = bench_data_load(experiment, events=events, load=False)
    scan_s, scan_rows = _yardstick(experiment)
    before = _loadavg()
    _progress(f"  computing (load average {before})")
    tracemalloc.start()
    t0 = time.perf_counter()
    with _Timings() as timings:
        result = experiment_compute_results(
            experiment_id=experiment.pk, now=timezone.now(), refresh=True
        )
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
    print(
        f"  yardstick: one plain scan summing the {scan_rows:,} LLM calls {scan_s:.2f} s; "
        f"the computation is {compute_s / scan_s:.1f}x that",
        flush=True,
    )
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
