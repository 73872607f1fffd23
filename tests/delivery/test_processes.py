"""Real gunicorn processes on one PostgreSQL + Redis: a change made through one process is served
by another within the check interval; a dead Redis or a vanished database does not take the
delivery API down."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlparse, urlunparse

import pytest

from bench._server import (
    Server,
    database_prepare,
    database_recreate,
    manage,
    server_env,
    server_start,
)
from flags.demo import DEMO_CLIENT_KEY, DEMO_SERVER_KEY
from tests.services import postgres_url, redis_url

# One xdist worker runs the module: its database and servers are set up once.
pytestmark = [pytest.mark.services, pytest.mark.xdist_group("delivery-processes")]

TOKEN_SCRIPT = (
    "from django.contrib.auth import get_user_model\n"
    "from flags.api.tokens import personal_token_create\n"
    "user = get_user_model().objects.get(username='admin')\n"
    "print(personal_token_create(user=user, name='process test')[1])\n"
)


def call(
    server: Server, method: str, path: str, body: Any = None, **headers: str
) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        server.url + path,
        data=data,
        method=method,
        headers={"Content-Type": "application/json", **headers},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            raw = response.read()
            return response.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as exc:
        raw = exc.read()
        try:
            return exc.code, json.loads(raw) if raw else None
        except ValueError:
            return exc.code, raw.decode(errors="replace")


def llm_reason(server: Server) -> str:
    status, data = call(
        server,
        "POST",
        "/api/v1/evaluate",
        {"context": {"key": "zed"}, "flags": ["llm-model"]},
        Authorization=f"Bearer {DEMO_CLIENT_KEY}",
    )
    assert status == 200, data
    return str(data["flags"]["llm-model"]["reason"])


def _db_url(suffix: str) -> str:
    parsed = urlparse(postgres_url())
    return urlunparse(parsed._replace(path=parsed.path.rstrip("/") + suffix))


@pytest.fixture(scope="module")
def prepared_env() -> dict[str, str]:
    db = _db_url("_procs")
    database_recreate(db)
    env = server_env(DATABASE_URL=db, REDIS_URL=redis_url())
    database_prepare(env)
    return env


@pytest.fixture
def two_servers(prepared_env: dict[str, str]) -> Iterator[tuple[Server, Server]]:
    with server_start(prepared_env) as a, server_start(prepared_env) as b:
        yield a, b


def test_a_change_through_one_process_is_served_by_another_within_a_second(
    two_servers: tuple[Server, Server], prepared_env: dict[str, str]
) -> None:
    a, b = two_servers
    token = manage(prepared_env, "shell", "-c", TOKEN_SCRIPT).strip().splitlines()[-1]
    toggle = "/api/v1/flags/llm-model/environments/development/toggle"
    delays = []
    for enabled in (False, True, False):
        assert llm_reason(b) in ("DEFAULT", "DISABLED")  # B has a warm copy
        status, _ = call(a, "POST", toggle, {"enabled": enabled}, Authorization=f"Token {token}")
        assert status == 200
        changed = time.monotonic()
        want = "DEFAULT" if enabled else "DISABLED"
        while llm_reason(b) != want:
            assert time.monotonic() - changed < 3, "process B never saw the change"
            time.sleep(0.02)
        delays.append(time.monotonic() - changed)
    # The check interval is 1 s; allow a little for two processes on a busy 2-core machine.
    assert max(delays) < 1.3, delays


def test_dead_redis_still_serves_without_5xx(prepared_env: dict[str, str]) -> None:
    env = dict(prepared_env, REDIS_URL="redis://127.0.0.1:1/0")
    with server_start(env) as server:
        for _ in range(3):
            assert llm_reason(server) in ("DEFAULT", "DISABLED")
            status, _ = call(
                server, "GET", "/api/v1/sdk/ruleset", Authorization=f"Bearer {DEMO_SERVER_KEY}"
            )
            assert status == 200
            status, _ = call(
                server,
                "POST",
                "/ofrep/v1/evaluate/flags/llm-model",
                {"context": {"targetingKey": "zed"}},
                **{"X-API-Key": DEMO_CLIENT_KEY},
            )
            assert status == 200


class TcpProxy:
    """A loopback TCP forwarder we can cut, to make PostgreSQL vanish for one server."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.sockets: list[socket.socket] = []
        self.open = True
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while self.open:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if not self.open:
                client.close()
                return
            upstream = socket.create_connection(self.target)
            self.sockets += [client, upstream]
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(src, dst), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        try:
            while chunk := src.recv(65536):
                dst.sendall(chunk)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        self.open = False
        # close() alone does not wake a thread blocked in accept(); shutdown() does.
        with contextlib.suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)
        self.listener.close()
        for s in self.sockets:
            try:
                s.shutdown(socket.SHUT_RDWR)
                s.close()
            except OSError:
                pass


def test_cached_ruleset_and_keys_are_served_when_postgres_goes_away(
    prepared_env: dict[str, str],
) -> None:
    parsed = urlparse(prepared_env["DATABASE_URL"])
    proxy = TcpProxy(parsed.hostname or "127.0.0.1", parsed.port or 5432)
    via_proxy = urlunparse(parsed._replace(netloc=f"{parsed.username}@127.0.0.1:{proxy.port}"))
    env = dict(prepared_env, DATABASE_URL=via_proxy)
    with server_start(env) as server:
        before = llm_reason(server)
        status, ruleset = call(
            server, "GET", "/api/v1/sdk/ruleset", Authorization=f"Bearer {DEMO_SERVER_KEY}"
        )
        assert status == 200
        proxy.cut()
        # Past the key re-check and the ruleset check intervals: both must fall back to memory.
        deadline = time.monotonic() + 2.5
        while time.monotonic() < deadline:
            assert llm_reason(server) == before
            status, again = call(
                server, "GET", "/api/v1/sdk/ruleset", Authorization=f"Bearer {DEMO_SERVER_KEY}"
            )
            assert status == 200 and again == ruleset
            time.sleep(0.2)
        # The database really is gone: what needs it says so, without a stack trace.
        status, _ = call(server, "GET", "/api/v1/flags", Authorization="Token fs_pat_x")
        assert status >= 500
