"""A real Celery worker (a subprocess) on the test database and the Redis broker."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.db import connection

from tests.services import postgres_url, redis_url

ROOT = Path(__file__).resolve().parents[1]


@contextmanager
def celery_worker(tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    """Start a worker (solo pool) against the test database; stop it on exit. Its log is
    `tmp_path / "worker.log"`. Needs committed data: use it with `transactional_db`."""
    postgres_url()
    redis = redis_url()
    settings = connection.settings_dict
    db_url = (
        f"postgres://{settings['USER']}:{settings['PASSWORD']}@{settings['HOST'] or '127.0.0.1'}"
        f":{settings['PORT'] or 5432}/{settings['NAME']}"
    )
    env = os.environ | {
        "DATABASE_URL": db_url,
        "REDIS_URL": redis,
        "CELERY_BROKER_URL": redis,
        "FLAGSITE_VAR_DIR": str(tmp_path),
    }
    with open(tmp_path / "worker.log", "w") as log:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "flagsite",
                "worker",
                "--pool=solo",
                "--loglevel=info",
                "--without-heartbeat",
                "--without-gossip",
                "--without-mingle",
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            yield proc
        finally:
            proc.terminate()
            proc.wait(timeout=20)
