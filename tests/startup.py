"""Starting Django in a fresh process with a given environment: how tests check that a bad
setting stops the process at start (settings are read once, at import)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def django_setup_in_subprocess(env: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
    """`django.setup()` with `env` (and flagsite.settings) in a new interpreter."""
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=ROOT,
        env={**env, "DJANGO_SETTINGS_MODULE": "flagsite.settings"},
        capture_output=True,
        text=True,
        timeout=60,
    )
