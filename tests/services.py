"""Real services for tests. Without CI a missing service skips the test with a one-line reason;
under CI=true it fails loudly, because CI must run everything."""

from __future__ import annotations

import os
import shutil
import socket
from urllib.parse import urlparse

import pytest

from tests.xdist_worker import postgres_worker_url, redis_worker_url

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def unavailable(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"CI=true but {reason}", pytrace=False)
    pytest.skip(reason)


def _reachable(url: str, default_port: int) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection(
            (parsed.hostname or "127.0.0.1", parsed.port or default_port), 0.5
        ):
            return True
    except OSError:
        return False


def redis_url() -> str:
    """The Redis to test against: REDIS_URL, else the local default. In an xdist worker, its own
    database number (tests/xdist_worker.py moved REDIS_URL's before Django started)."""
    url = os.environ.get("REDIS_URL") or redis_worker_url("redis://127.0.0.1:6379/0")
    if not _reachable(url, 6379):
        unavailable(f"Redis is not reachable at {url}")
    return url


def postgres_url() -> str:
    """DATABASE_URL; in an xdist worker its database name ends in `_gwN`: the base of the names
    of the databases a test creates itself (tests/xdist_worker.py)."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        unavailable("needs PostgreSQL: set DATABASE_URL=postgres://... (CI does)")
    if not _reachable(url, 5432):
        unavailable(f"PostgreSQL is not reachable at {url}")
    return postgres_worker_url(url)


def chromium_path() -> str:
    path = os.environ.get("PLAYWRIGHT_CHROMIUM_EXECUTABLE") or shutil.which("chromium") or ""
    if not path or not os.path.exists(path):
        unavailable("Chromium not found: apt-get install chromium (CI installs it)")
    return path
