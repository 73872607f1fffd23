"""Isolation of pytest-xdist workers (`make test` runs the suite with `-n`, scripts/test.sh).

Loaded as a plugin (`-p tests.xdist_worker` in pyproject's addopts), so this module runs in
every worker before pytest-django reads flagsite.settings. In worker gwN it gives the worker:

- its own Redis database: the number in REDIS_URL (and CELERY_BROKER_URL) plus N, so the
  cache, the Celery broker of the real-worker tests, rate-limit and login-throttle counts and
  every test's `cache.clear()` (a FLUSHDB) stay inside the worker. Kombu prefixes its fanout
  channels with the database number, so pub/sub broadcasts stay inside it too;
- its own FLAGSITE_VAR_DIR (`<var dir>/gwN`): the SQLite files, the filesystem broker, beat's
  schedule;
- its own names for the PostgreSQL databases that tests create beside the test database
  (`tests.services.postgres_url()` ends in `_gwN`). pytest-django already names each worker's
  test database `test_<name>_gwN` (on SQLite each worker's test database is in memory).

Every server a test starts listens on a free port (`bench._server.free_port`, pytest-django's
`live_server`), so nothing else is shared. Without xdist (`PYTEST_WORKERS=0`) nothing changes.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parents[1]
# Redis's default `databases 16`: numbers 0-15.
REDIS_DATABASES = 16


def worker_id() -> str:
    """`gw0`, `gw1`, ... in an xdist worker; "" otherwise."""
    return os.environ.get("PYTEST_XDIST_WORKER", "")


def worker_index() -> int:
    worker = worker_id()
    return int(worker.removeprefix("gw")) if worker else 0


def redis_worker_url(url: str) -> str:
    """`url` with its database number moved up by this worker's index (gw0 keeps it)."""
    index = worker_index()
    parsed = urlparse(url)
    if not index or parsed.scheme not in ("redis", "rediss"):
        return url
    base = int(parsed.path.strip("/") or 0)
    db = base + index
    if db >= REDIS_DATABASES:
        raise RuntimeError(
            f"xdist worker {worker_id()} needs Redis database {db} ({url} plus {index}): Redis has "
            f"{REDIS_DATABASES} (0-{REDIS_DATABASES - 1}); use a lower base or fewer workers"
        )
    return urlunparse(parsed._replace(path=f"/{db}"))


def postgres_worker_url(url: str) -> str:
    """`url` with `_gwN` after its database name in a worker: the base name of the databases a
    test creates itself (`<name>_gwN_procs`, ...), so two workers never drop each other's."""
    worker = worker_id()
    if not worker:
        return url
    parsed = urlparse(url)
    return urlunparse(parsed._replace(path=parsed.path.rstrip("/") + f"_{worker}"))


# The environment as the run was started, before this worker's share replaced it.
STARTED_WITH = {name: os.environ.get(name, "") for name in ("REDIS_URL", "CELERY_BROKER_URL")}


def _isolate() -> None:
    worker = worker_id()
    if not worker:
        return
    for name in ("REDIS_URL", "CELERY_BROKER_URL"):
        if url := os.environ.get(name):
            os.environ[name] = redis_worker_url(url)
    var_dir = Path(os.environ.get("FLAGSITE_VAR_DIR") or ROOT / "var") / worker
    var_dir.mkdir(parents=True, exist_ok=True)
    os.environ["FLAGSITE_VAR_DIR"] = str(var_dir)


_isolate()
