"""Start real flagsite servers (gunicorn, the production server) on a real PostgreSQL + Redis.

Shared by the API benchmark (bench/api.py) and the multi-process tests
(tests/delivery/test_processes.py): create a database, migrate it, load the demo data,
start gunicorn on a free loopback port, wait until it answers, stop it.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def database_recreate(url: str) -> None:
    """Drop and create the database named in a postgres:// URL (connecting to `postgres`)."""
    import psycopg

    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    admin = urlunparse(parsed._replace(path="/postgres", scheme="postgresql"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def server_env(**overrides: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env.setdefault("SECRET_KEY", "bench-and-test-only")
    env["DEBUG"] = "false"
    env["ALLOWED_HOSTS"] = "127.0.0.1,localhost"
    # Plain http on loopback: no redirect to https (the production default with DEBUG off).
    env.setdefault("SECURE_SSL_REDIRECT", "false")
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env.update(overrides)
    return env


def manage(env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    proc = subprocess.run(
        [PYTHON, "manage.py", *args],
        cwd=ROOT,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
    return proc.stdout


def database_prepare(env: dict[str, str]) -> None:
    manage(env, "migrate", "--no-input", "-v", "0")
    manage(env, "demo_data", "--i-know-this-is-not-production")  # DEBUG is off here
    # A new database: rulesets cached for an earlier one (same versions, other content) must go,
    # as after restoring a backup (docs/operations.md).
    manage(env, "shell", "-c", "from django.core.cache import cache; cache.clear()")


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    url: str
    log: Path
    env: dict[str, str] = field(repr=False)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def server_command(
    app: str, port: int, *, server: str, workers: int, threads: int, access_log: bool = False
) -> list[str]:
    """The command line of one production server: gunicorn `sync` or `gthread`, or `granian`
    (WSGI interface, `threads` blocking threads per worker)."""
    if server == "granian":
        return [
            PYTHON, "-m", "granian", "--interface", "wsgi", "--host", "127.0.0.1",
            "--port", str(port), "--workers", str(workers), "--blocking-threads", str(threads),
            "--http", "1", "--no-ws", *(["--access-log"] if access_log else []), app,
        ]  # fmt: skip
    return [
        PYTHON, "-m", "gunicorn", app, "--bind", f"127.0.0.1:{port}",
        "--workers", str(workers), "--worker-class", server,
        *(["--threads", str(threads)] if server == "gthread" else []),
        "--timeout", "60", "--access-logfile", "-" if access_log else "/dev/null",
    ]  # fmt: skip


def server_start(
    env: dict[str, str],
    *,
    workers: int = 1,
    log_dir: Path | None = None,
    ready_path: str = "/api/docs/",
    timeout: float = 60.0,
    app: str = "flagsite.wsgi:application",
    server: str = "sync",
    threads: int = 1,
    cpus: str | None = None,
) -> Server:
    """A production server on a free loopback port. By default gunicorn with sync workers: one
    request per worker at a time, no threads, so the numbers measure Django + flagsite rather
    than a concurrency model; scale with workers (processes). `cpus`: pin it (taskset -c)."""
    port = free_port()
    log_dir = log_dir or Path(os.environ.get("TMPDIR", "/tmp"))
    log = log_dir / f"flagsite-server-{port}.log"
    handle = log.open("wb")
    command = server_command(
        app,
        port,
        server=server,
        workers=workers,
        threads=threads,
        access_log=bool(os.environ.get("BENCH_ACCESS_LOG")),
    )
    if cpus is not None:
        command = ["taskset", "-c", cpus, *command]
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        env=env,
        stdout=handle,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited:\n{log.read_text()[-4000:]}")
        try:
            with urllib.request.urlopen(url + ready_path, timeout=2) as response:
                if response.status == 200:
                    return Server(process, url, log, env)
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"the server did not start within {timeout}s:\n{log.read_text()[-4000:]}")
