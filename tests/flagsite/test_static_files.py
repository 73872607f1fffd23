"""The documented production start (scripts/serve.sh: collectstatic, then gunicorn with
WhiteNoise) serves /static/ with DEBUG off."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str) -> tuple[int, bytes, dict[str, str]]:
    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            return response.status, response.read(), dict(response.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(), dict(exc.headers)


def test_the_production_start_serves_static_files(tmp_path: Path) -> None:
    # Given the production settings with DEBUG off and a fresh var dir (no collected files yet)
    port = _free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL")
    } | {
        "DEBUG": "false",
        "SECRET_KEY": "test-only-" + "x" * 50,
        "ALLOWED_HOSTS": "127.0.0.1",
        "FLAGSITE_VAR_DIR": str(tmp_path / "var"),
        "SECURE_SSL_REDIRECT": "false",  # the test speaks plain HTTP
        "PORT": str(port),
        "WEB_CONCURRENCY": "1",
        "BIN": str(Path(sys.executable).parent),
    }
    log_path = tmp_path / "serve.log"
    base = f"http://127.0.0.1:{port}"
    # When the web process starts the documented way
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            ["bash", str(ROOT / "scripts" / "serve.sh")],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 90
            while True:
                assert proc.poll() is None, log_path.read_text()
                try:
                    with socket.create_connection(("127.0.0.1", port), 0.5):
                        break
                except OSError:
                    assert time.monotonic() < deadline, log_path.read_text()
                    time.sleep(0.2)
            # Then our files, the apps' files (htmx) and the widget are served,
            status, body, headers = _get(base + "/static/ui/app.css")
            assert status == 200, log_path.read_text()
            assert body == (ROOT / "static" / "ui" / "app.css").read_bytes()
            assert headers["Content-Type"].startswith("text/css")
            assert _get(base + "/static/django_htmx/htmx-2.min.js")[0] == 200
            assert _get(base + "/static/feedback/widget.css")[0] == 200
            # an unknown file is a 404,
            assert _get(base + "/static/ui/nope.css")[0] == 404
            # and the files were collected under FLAGSITE_VAR_DIR.
            assert (tmp_path / "var" / "static" / "ui" / "app.css").is_file()
        finally:
            proc.terminate()
            proc.wait(timeout=30)
