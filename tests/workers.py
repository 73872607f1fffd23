"""Real Celery workers for tests: subprocesses against the test's PostgreSQL database and Redis
(the broker), logging to files the test can read."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from django.db import connection

from tests.services import postgres_url, redis_url

ROOT = Path(__file__).resolve().parents[1]


def worker_env(tmp_path: Path) -> dict[str, str]:
    """The environment a worker needs to see the test database (commit your data first:
    `transactional_db`) and the test's Redis as broker and cache."""
    postgres_url()
    redis = redis_url()
    settings = connection.settings_dict
    db_url = (
        f"postgres://{settings['USER']}:{settings['PASSWORD']}@{settings['HOST'] or '127.0.0.1'}"
        f":{settings['PORT'] or 5432}/{settings['NAME']}"
    )
    return os.environ | {
        "DATABASE_URL": db_url,
        "REDIS_URL": redis,
        "CELERY_BROKER_URL": redis,
        "FLAGSITE_VAR_DIR": str(tmp_path),
    }


@dataclass(frozen=True)
class Worker:
    process: subprocess.Popen[bytes]
    log: Path

    def alive(self) -> bool:
        return self.process.poll() is None


@contextmanager
def celery_workers(tmp_path: Path, names: tuple[str, ...] = ("worker",)) -> Iterator[list[Worker]]:
    """Start one solo-pool worker per name; stops them on exit."""
    env = worker_env(tmp_path)
    procs: list[subprocess.Popen[bytes]] = []
    logs: list[Path] = []
    files = []
    try:
        for name in names:
            log_path = tmp_path / f"{name}.log"
            log = open(log_path, "w")  # noqa: SIM115 - closed below
            files.append(log)
            logs.append(log_path)
            procs.append(
                subprocess.Popen(
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
                        "-n",
                        f"{name}@%h",
                    ],
                    cwd=ROOT,
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
        yield [Worker(p, log) for p, log in zip(procs, logs, strict=True)]
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=20)
        for log in files:
            log.close()
