"""The type check covers the whole project and CI runs it (issue 9, "Types";
docs/operations.md, "Type checking"). mypy itself runs in `make lint`, not here: it takes
minutes on a cold cache."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _mypy_config() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mypy"]


def test_mypy_checks_every_package_of_the_project() -> None:
    files = _mypy_config()["files"]
    packages = sorted(
        p.parent.name
        for p in ROOT.glob("*/__init__.py")
        if p.parent.name not in {"tests", "scripts", "docs"}
    )
    assert packages, "no packages found next to pyproject.toml"
    for package in [*packages, "bench", "sdk/flagsite_sdk", "tests"]:
        assert package in files, f"{package} is not type-checked"


def test_mypy_uses_the_django_and_drf_plugins_and_never_ignores_errors() -> None:
    config = _mypy_config()
    assert "mypy_django_plugin.main" in config["plugins"]
    assert "mypy_drf_plugin.main" in config["plugins"]
    settings = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["django-stubs"]
    assert settings["django_settings_module"] == "flagsite.settings"
    assert config.get("strict") is True  # the SDK's strictness; the apps relax named checks
    overrides = config.get("overrides", [])
    assert not config.get("ignore_errors")
    assert not any(o.get("ignore_errors") for o in overrides)
    assert not config.get("ignore_missing_imports")
    apps = next(o for o in overrides if "flags.*" in o["module"])
    assert "disallow_untyped_defs" not in apps  # strict's value stays on for the apps
    assert not any("flagsite_sdk" in str(o["module"]) for o in overrides)


def test_make_lint_runs_mypy_and_ci_lints_before_the_tests() -> None:
    makefile = (ROOT / "Makefile").read_text()
    lint = re.search(r"^lint:.*?\n((?:\t.*\n)+)", makefile, re.M)
    assert lint and "$(BIN)/mypy" in lint.group(1)
    script = (ROOT / ".ci" / "run").read_text()
    assert "make lint ||" in script, "a lint failure must stop CI"
    assert script.index("make lint") < script.index("make test")
