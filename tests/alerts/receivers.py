"""Local receivers the delivery tests start on loopback: a webhook endpoint that verifies Standard
Webhooks signatures with its own code (not alerts.signing), and a tiny SMTP server."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import socketserver
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

TOLERANCE_SECONDS = 300


def standard_webhooks_verify(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """Independent check, written from the specification (standardwebhooks.com, "Verifying
    signatures"): key = base64-decode(secret without "whsec_"), signed content =
    "{webhook-id}.{webhook-timestamp}.{body}", any space-separated "v1,<sig>" may match, the
    timestamp must be within the tolerance."""
    msg_id = headers.get("webhook-id", "")
    stamp = headers.get("webhook-timestamp", "")
    if not msg_id or not stamp.isdigit() or abs(time.time() - int(stamp)) > TOLERANCE_SECONDS:
        return False
    key = base64.b64decode(secret.split("_", 1)[1])
    expected = base64.b64encode(
        hmac.new(
            key, msg_id.encode() + b"." + stamp.encode() + b"." + body, hashlib.sha256
        ).digest()
    ).decode()
    for candidate in headers.get("webhook-signature", "").split(" "):
        version, _, sig = candidate.partition(",")
        if version == "v1" and hmac.compare_digest(sig, expected):
            return True
    return False


@dataclass
class WebhookReceiver:
    secret: str = ""
    status: int = 200  # what it answers; a list pops one per request
    statuses: list[int] = field(default_factory=list)
    delay: float = 0.0
    requests: list[dict[str, Any]] = field(default_factory=list)
    url: str = ""

    def answer(self) -> int:
        return self.statuses.pop(0) if self.statuses else self.status


@contextmanager
def webhook_receiver(**options: Any) -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver(**options)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            headers = {k.lower(): v for k, v in self.headers.items()}
            time.sleep(receiver.delay)
            receiver.requests.append(
                {
                    "path": self.path,
                    "headers": headers,
                    "body": body,
                    "json": json.loads(body),
                    "verified": bool(receiver.secret)
                    and standard_webhooks_verify(receiver.secret, headers, body),
                }
            )
            status = receiver.answer()
            answer = b"received " + b"x" * 1000
            self.send_response(status)
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def broker_down(monkeypatch: Any) -> Iterator[str]:
    """The Celery app's broker is a port nobody listens on (as when Redis is down)."""
    import socket

    from flagsite.celery import app

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"redis://127.0.0.1:{s.getsockname()[1]}/0"
    real = app.connection_for_write
    with monkeypatch.context() as m:
        m.setattr(app, "connection_for_write", lambda *a, **k: real(url=dead))
        yield dead


@dataclass
class Mailbox:
    port: int = 0
    messages: list[dict[str, Any]] = field(default_factory=list)


@contextmanager
def smtp_server() -> Iterator[Mailbox]:
    """Enough SMTP (RFC 5321) for Django's backend: EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP,
    QUIT. Messages land in the mailbox as {"from", "to", "data"}."""
    box = Mailbox()

    class Handler(socketserver.StreamRequestHandler):
        def reply(self, line: str) -> None:
            self.wfile.write(line.encode() + b"\r\n")

        def handle(self) -> None:
            sender, rcpts = "", list[str]()
            self.reply("220 localhost test SMTP")
            while line := self.rfile.readline():
                command = line.decode().strip()
                verb = command[:4].upper()
                if verb == "EHLO":
                    self.reply("250-localhost")
                    self.reply("250 8BITMIME")
                elif verb == "HELO" or verb in ("RSET", "NOOP"):
                    self.reply("250 OK")
                elif verb == "MAIL":
                    sender, rcpts = command.split(":", 1)[1].strip().strip("<>"), []
                    self.reply("250 OK")
                elif verb == "RCPT":
                    rcpts.append(command.split(":", 1)[1].strip().strip("<>"))
                    self.reply("250 OK")
                elif verb == "DATA":
                    self.reply("354 End data with <CR><LF>.<CR><LF>")
                    data = []
                    while (chunk := self.rfile.readline()) not in (b".\r\n", b""):
                        data.append(chunk[1:] if chunk.startswith(b"..") else chunk)
                    box.messages.append({"from": sender, "to": rcpts, "data": b"".join(data)})
                    self.reply("250 OK queued")
                elif verb == "QUIT":
                    self.reply("221 Bye")
                    return
                else:
                    self.reply("502 Command not implemented")

    class Server(socketserver.ThreadingTCPServer):
        daemon_threads = True
        allow_reuse_address = True

    server = Server(("127.0.0.1", 0), Handler)
    box.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield box
    finally:
        server.shutdown()
        server.server_close()
