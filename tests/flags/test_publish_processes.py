"""Real processes: a change reaches every process within the check interval, whatever the cache
did. Two gunicorn servers on one PostgreSQL, one of them with a dead Redis; and the embedded
default (SQLite, a cache per process) with the web server started as scripts/run.sh starts it
and changes made from other processes (`manage.py shell`, `manage.py import_unleash`)."""

from __future__ import annotations

import json
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bench._server import (
    PYTHON,
    ROOT,
    Server,
    database_prepare,
    free_port,
    manage,
    server_env,
    server_start,
)
from flags.demo import DEMO_CLIENT_KEY
from tests.delivery.test_processes import TOKEN_SCRIPT, _db_url, call
from tests.services import postgres_url, redis_url

# One xdist worker runs the embedded server's tests, another the dead-Redis class: each setup
# runs once (tests/xdist_worker.py).
EMBEDDED = pytest.mark.xdist_group("publish-embedded")
DEAD_REDIS = "redis://127.0.0.1:1/0"
# Generous: the guarantee is the check interval (1 s) plus loading the new version, on a machine
# shared with other test runs. The test asserts arrival, not speed (bench/scale.py measures it).
DEADLINE = 20.0
TOGGLE = "/api/v1/flags/llm-model/environments/development/toggle"


def reason(server: Server, flag: str = "llm-model") -> str:
    status, data = call(
        server,
        "POST",
        "/api/v1/evaluate",
        {"context": {"key": "zed"}, "flags": [flag]},
        Authorization=f"Bearer {DEMO_CLIENT_KEY}",
    )
    assert status == 200, data
    return str(data["flags"][flag]["reason"])


def wait_for(server: Server, want: str, flag: str = "llm-model") -> None:
    deadline = time.monotonic() + DEADLINE
    while (got := reason(server, flag)) != want:
        assert time.monotonic() < deadline, f"{server.url} still serves {got}, not {want}"
        time.sleep(0.05)


@pytest.mark.services
@pytest.mark.xdist_group("publish-dead-redis")
class TestDeadRedis:
    @pytest.fixture(scope="class")
    def env(self) -> dict[str, str]:
        from bench._server import database_recreate

        postgres_url()
        db = _db_url("_split")
        database_recreate(db)
        env = server_env(DATABASE_URL=db, REDIS_URL=redis_url())
        database_prepare(env)
        return env

    @pytest.fixture
    def servers(self, env: dict[str, str]) -> Iterator[tuple[Server, Server, str]]:
        token = manage(env, "shell", "-c", TOKEN_SCRIPT).strip().splitlines()[-1]
        dead = dict(env, REDIS_URL=DEAD_REDIS)
        with server_start(env) as healthy, server_start(dead) as broken:
            yield healthy, broken, token

    def test_a_change_through_the_process_with_a_dead_redis_reaches_the_other(
        self, servers: tuple[Server, Server, str]
    ) -> None:
        healthy, broken, token = servers
        for enabled in (False, True):
            before = reason(healthy)  # a warm copy, and the cache holds its version
            status, data = call(
                broken, "POST", TOGGLE, {"enabled": enabled}, Authorization=f"Token {token}"
            )
            assert status == 200, data
            # The person is told, and the change is saved.
            assert data["enabled"] is enabled
            assert data["publish"]["status"] == "pending"
            assert data["publish"]["message"] == (
                "saved, not yet published to every server — retrying"
            )
            want = "DEFAULT" if enabled else "DISABLED"
            assert before != want
            wait_for(healthy, want)
            wait_for(broken, want)

    def test_a_change_through_the_healthy_process_reaches_the_one_with_a_dead_redis(
        self, servers: tuple[Server, Server, str]
    ) -> None:
        healthy, broken, token = servers
        for enabled in (False, True):
            before = reason(broken)
            status, data = call(
                healthy, "POST", TOGGLE, {"enabled": enabled}, Authorization=f"Token {token}"
            )
            assert status == 200 and "publish" not in data, data
            want = "DEFAULT" if enabled else "DISABLED"
            assert before != want
            wait_for(broken, want)

    def test_the_audit_log_records_the_failed_publish(
        self, env: dict[str, str], servers: tuple[Server, Server, str]
    ) -> None:
        _, broken, token = servers
        status, _ = call(broken, "POST", TOGGLE, {"enabled": False}, Authorization=f"Token {token}")
        assert status == 200
        script = (
            "from flags.models import AuditEvent\n"
            "e = AuditEvent.objects.filter(action='ruleset.publish_failed').first()\n"
            "print(e.object_key, '|', e.summary)\n"
        )
        out = manage(env, "shell", "-c", script).strip().splitlines()[-1]
        assert out.startswith("development |")
        assert "saved, not yet published to every server — retrying" in out


@pytest.fixture(scope="module")
def embedded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, dict[str, str]]]:
    """`make run`'s web server on the embedded default: SQLite and a per-process cache in a
    var directory of its own, DEBUG on, `runserver --noreload` (as scripts/run.sh starts it)."""
    var = tmp_path_factory.mktemp("var")
    env = server_env(FLAGSITE_VAR_DIR=str(var), DEBUG="true")
    for name in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL"):
        env.pop(name, None)
    database_prepare(env)
    port = free_port()
    log = (var / "runserver.log").open("wb")
    process = subprocess.Popen(
        [PYTHON, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    server = Server(process, f"http://127.0.0.1:{port}", Path(log.name), env)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, Path(log.name).read_text()[-3000:]
            try:
                urllib.request.urlopen(server.url + "/healthz", timeout=2).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "runserver did not start"
                time.sleep(0.2)
        yield server, env
    finally:
        server.stop()


SHELL_TOGGLE = (
    "from flags.changes import Actor, flag_toggle\n"
    "from flags.models import Environment, Flag\n"
    "flag_toggle(flag=Flag.objects.get(key='llm-model'),\n"
    "            environment=Environment.objects.get(key='development'),\n"
    "            enabled={enabled}, actor=Actor(label='shell'))\n"
)


@EMBEDDED
def test_the_embedded_server_serves_a_change_made_in_manage_py_shell(
    embedded: tuple[Server, dict[str, str]],
) -> None:
    server, env = embedded
    for enabled in (False, True):
        before = reason(server)  # warm: its own in-process copy
        manage(env, "shell", "-c", SHELL_TOGGLE.format(enabled=enabled))
        want = "DEFAULT" if enabled else "DISABLED"
        assert before != want
        wait_for(server, want)


@EMBEDDED
def test_an_idle_server_answers_its_first_request_after_a_change_with_the_new_value(
    embedded: tuple[Server, dict[str, str]],
) -> None:
    """No request for a while: the process's watcher thread has loaded the change before the
    next request comes, so that request is not answered with the old configuration."""
    server, env = embedded
    for enabled in (False, True):
        before = reason(server)  # warm: its own in-process copy
        manage(env, "shell", "-c", SHELL_TOGGLE.format(enabled=enabled))
        want = "DEFAULT" if enabled else "DISABLED"
        assert before != want
        # Given no request for a few check intervals (1 s each)
        time.sleep(4)
        # Then the very first request serves the change
        assert reason(server) == want


@EMBEDDED
def test_the_embedded_server_serves_what_import_unleash_imported(
    embedded: tuple[Server, dict[str, str]], tmp_path: Path
) -> None:
    server, env = embedded
    assert reason(server, "imported-flag") == "ERROR"  # not there yet (FLAG_NOT_FOUND)
    export: dict[str, Any] = {
        "version": 2,
        "features": [
            {
                "name": "imported-flag",
                "enabled": True,
                "strategies": [{"name": "default", "parameters": {}}],
            }
        ],
    }
    path = tmp_path / "unleash.json"
    path.write_text(json.dumps(export))
    manage(env, "import_unleash", str(path), "--environment", "development")
    deadline = time.monotonic() + DEADLINE
    while reason(server, "imported-flag") == "ERROR":
        assert time.monotonic() < deadline, "the imported flag never reached the server"
        time.sleep(0.05)
