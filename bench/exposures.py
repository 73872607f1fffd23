"""Exposure recorder benchmark: what counting costs on the evaluate hot path.

    .venv/bin/python bench/exposures.py [--requests 20000]

Times, in one process, `evaluate_all` of the engine benchmark's 20-flag ruleset for each of
`--requests` contexts (the work /api/v1/evaluate does), then `exposures_record` of the same
20 (flag, variant) pairs per request (the recorder's hot-path cost; no flush, no I/O), and
prints both per request and the recorder's cost as a share of evaluation. The figures of record
are in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "flagsite.settings")
os.environ.setdefault("SECRET_KEY", "bench-only")

import django

django.setup()

from django.conf import settings  # noqa: E402
from flagsite_sdk.engine import compile_ruleset, evaluate_all  # noqa: E402

from bench.engine import workload_contexts, workload_ruleset  # noqa: E402
from delivery import exposures  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=20_000)
    args = parser.parse_args()
    settings.FLAGSITE_EXPOSURE_FLUSH_SECONDS = 0  # count only: no thread, no database
    settings.FLAGSITE_EXPOSURE_FLUSH_MAX_COUNTS = 10**12
    ruleset = compile_ruleset(workload_ruleset())
    contexts = workload_contexts(args.requests)

    start = time.perf_counter()
    results = [evaluate_all(ruleset, ctx) for ctx in contexts]
    evaluate_s = time.perf_counter() - start

    served = [[(k, ev.variant) for k, ev in r.items()] for r in results]
    start = time.perf_counter()
    for ctx, pairs in zip(contexts, served, strict=True):
        exposures.exposures_record(1, pairs, ctx["key"])
    record_s = time.perf_counter() - start

    flags = len(served[0])
    n = args.requests
    print(f"requests: {n:,}, flags per request: {flags}")
    print(f"evaluate_all per request:     {evaluate_s / n * 1e6:8.2f} us")
    print(f"exposures_record per request: {record_s / n * 1e6:8.2f} us")
    print(f"recorder / evaluation: {record_s / evaluate_s:.1%}")
    print(f"pending counts: {exposures.exposures_pending():,}")
    exposures.exposures_reset()  # nothing to flush at exit: this is not a real database


if __name__ == "__main__":
    main()
