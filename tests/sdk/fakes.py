"""Loopback stand-ins for the edges of the network: a scriptable fake flagsite server (500s,
malformed JSON, hangs, 401/429) and a TCP proxy that can take a real server "down" and bring it
back on the same port."""

from __future__ import annotations

import contextlib
import hashlib
import json
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Reply:
    status: int = 200
    body: bytes | dict[str, Any] | list[Any] | str = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


Handler = Callable[[Request], Reply]


class FakeServer:
    """A flagsite look-alike on 127.0.0.1. By default it serves `ruleset` with an ETag (304 on a
    matching If-None-Match) and accepts events and feedback, recording their ids. `fail(path,
    reply)` makes a path answer `reply` instead (until `heal()`); `on(path, handler)` replaces
    a path's behaviour entirely."""

    def __init__(self, ruleset: dict[str, Any] | None = None) -> None:
        self.ruleset = ruleset or {"schema": 1, "flags": {}, "segments": {}}
        self.requests: list[Request] = []
        self.event_ids: list[str] = []  # every id received, duplicates included
        self.stored: dict[str, dict[str, Any]] = {}  # id -> event, stored once
        self.failures: dict[str, Reply] = {}
        self.handlers: dict[str, Handler] = {}
        self._lock = threading.Lock()
        fake = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                request = Request(self.command, self.path, dict(self.headers.items()), body)
                with fake._lock:
                    fake.requests.append(request)
                reply = fake.dispatch(request)
                if reply.delay:
                    time.sleep(reply.delay)
                payload = reply.body
                if not isinstance(payload, bytes):
                    payload = (
                        payload.encode()
                        if isinstance(payload, str)
                        else json.dumps(payload).encode()
                    )
                try:
                    self.send_response(reply.status)
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:
                    pass

            do_GET = do_POST = _handle

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self._thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    # -- behaviour ---------------------------------------------------------------------------

    def fail(self, path: str, reply: Reply) -> None:
        self.failures[path] = reply

    def heal(self) -> None:
        self.failures.clear()

    def on(self, path: str, handler: Handler) -> None:
        self.handlers[path] = handler

    def dispatch(self, request: Request) -> Reply:
        path = request.path.split("?")[0]
        if path in self.failures:
            return self.failures[path]
        if path in self.handlers:
            return self.handlers[path](request)
        if path == "/api/v1/sdk/ruleset":
            return self._ruleset(request)
        if path == "/api/v1/events":
            return self._events(request)
        if path == "/api/v1/feedback":
            return self._feedback(request)
        return Reply(404, {"error": "not found"})

    def etag(self) -> str:
        body = json.dumps(self.ruleset, sort_keys=True).encode()
        return '"' + hashlib.sha256(body).hexdigest()[:16] + '"'

    def _ruleset(self, request: Request) -> Reply:
        etag = self.etag()
        if request.headers.get("If-None-Match") == etag:
            return Reply(304, b"", {"ETag": etag})
        return Reply(200, self.ruleset, {"ETag": etag, "Content-Type": "application/json"})

    def _store(self, event: dict[str, Any]) -> bool:
        with self._lock:
            self.event_ids.append(event["id"])
            if event["id"] in self.stored:
                return False
            self.stored[event["id"]] = event
            return True

    def _events(self, request: Request) -> Reply:
        events = request.json()["events"]
        fresh = sum(self._store(e) for e in events)
        return Reply(200, {"accepted": fresh, "duplicates": len(events) - fresh, "rejected": []})

    def _feedback(self, request: Request) -> Reply:
        item = request.json()
        fresh = self._store(item)
        return Reply(
            201 if fresh else 200, {"id": item["id"], "status": "stored" if fresh else "duplicate"}
        )

    def ruleset_requests(self) -> list[Request]:
        return [r for r in self.requests if r.path.startswith("/api/v1/sdk/ruleset")]


class Proxy:
    """A TCP proxy on a fixed loopback port in front of `target` ("host", port). `down()` closes
    the listener and every open connection, so clients see connection refused (a stopped
    server); `up()` listens on the same port again."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        self.port = probe.getsockname()[1]
        probe.close()
        self.url = f"http://127.0.0.1:{self.port}"
        self._conns: list[socket.socket] = []
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self.lose_post_answers = 0
        self.up()

    def up(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def down(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            with contextlib.suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)
            listener.close()
        with self._lock:
            conns, self._conns = self._conns, []
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
            conn.close()

    close = down

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        try:
            upstream = socket.create_connection(self.target, timeout=30)
            first = client.recv(65536)
        except OSError:
            client.close()
            return
        # "Lost answer": the request reaches the server, the response never reaches the client.
        lose = False
        with self._lock:
            if first.startswith(b"POST") and self.lose_post_answers > 0:
                self.lose_post_answers -= 1
                lose = True
            self._conns += [client, upstream]
        try:
            upstream.sendall(first)
        except OSError:
            client.close()
            return
        threading.Thread(target=self._pipe, args=(client, upstream), daemon=True).start()
        self._pipe(upstream, client, lose=lose)

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket, lose: bool = False) -> None:
        try:
            while data := src.recv(65536):
                if lose:
                    break  # the server answered; hang up on the client instead
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)


def wait_for(condition: Callable[[], Any], timeout: float = 5.0, step: float = 0.01) -> Any:
    """Poll `condition` until it is truthy; return its value (or fail after `timeout`)."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        time.sleep(step)
