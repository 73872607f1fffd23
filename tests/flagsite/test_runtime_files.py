"""Runtime files (beat's schedule, the filesystem broker) stay under FLAGSITE_VAR_DIR."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CELERY = [sys.executable, "-m", "celery", "-A", "flagsite"]


def _clean_env(var_dir: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL")
    }
    return env | {
        "FLAGSITE_VAR_DIR": str(var_dir),
        "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'sdk'}",
        "SECRET_KEY": "test-only-secret-key",
        "DEBUG": "false",
    }


def test_worker_with_beat_writes_only_under_the_var_dir(tmp_path: Path) -> None:
    # Given an empty working directory that is not the project, and a separate var dir
    cwd = tmp_path / "elsewhere"
    var_dir = tmp_path / "var"
    cwd.mkdir()
    env = _clean_env(var_dir)
    subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "migrate", "--no-input", "-v", "0"],
        cwd=cwd,
        env=env,
        check=True,
        timeout=120,
    )
    log_path = tmp_path / "worker.log"
    # When the worker with embedded beat starts as scripts/run.sh starts it (the embedded
    # default: SQLite and the filesystem broker)
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [*CELERY, "worker", "--beat", "--loglevel=info", "--concurrency=1"],
            cwd=cwd,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 60
            schedule = list(var_dir.glob("celerybeat-schedule*"))
            while time.monotonic() < deadline:
                assert proc.poll() is None, log_path.read_text()
                schedule = list(var_dir.glob("celerybeat-schedule*"))
                if "ready." in log_path.read_text() and schedule:
                    break
                time.sleep(0.2)
            else:
                raise AssertionError("the worker never got ready:\n" + log_path.read_text())
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    # Then beat's schedule and the broker's exchange table are under the var dir,
    # and nothing at all was written into the working directory.
    assert schedule
    assert (var_dir / "celery-broker" / "control").is_dir()
    assert list((var_dir / "celery-broker" / "control").iterdir()), "no exchange table written"
    assert sorted(p.name for p in cwd.iterdir()) == []
    assert "Traceback" not in log_path.read_text()
