"""End to end with real processes: breaching events accepted by web process A, the real Celery
worker rolls the plan back, and web process B serves the old configuration within 30 s (the
distribution is bench/rollback.py's job; docs/benchmarks.md)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.rollback import BOUND_SECONDS, rollback_once, rollout_stack
from tests.services import postgres_url, redis_url

pytestmark = pytest.mark.services


def test_a_breach_is_rolled_back_in_another_web_process_within_30_seconds(
    tmp_path: Path,
) -> None:
    with rollout_stack(postgres_url(), redis_url(), tmp_path) as (env, a, b, worker):
        for i in range(2):
            delay = rollback_once(env, a, b, i)
            assert worker.poll() is None, "the worker died; see rollouts-worker.log"
            assert delay < BOUND_SECONDS, f"breach {i}: {delay:.1f} s"
