"""One real Celery worker (a subprocess) on the test database and the Redis broker: the
single-worker form of `tests.workers.celery_workers`."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.workers import celery_workers


@contextmanager
def celery_worker(tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    """Start a worker (solo pool) against the test database; stop it on exit. Its log is
    `tmp_path / "worker.log"`. Needs committed data: use it with `transactional_db`."""
    with celery_workers(tmp_path) as [one]:
        yield one.process
