"""The lock files agree with pyproject.toml, and flagsite-sdk can only come from ./sdk."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
# Calendar-versioned asset bundles have no "major version" that could break us.
NO_UPPER_BOUND_NEEDED = {"drf-spectacular-sidecar"}


def _project(path: Path) -> dict:
    return dict(tomllib.loads(path.read_text())["project"])


def _requirements() -> list[Requirement]:
    app, sdk = _project(ROOT / "pyproject.toml"), _project(ROOT / "sdk" / "pyproject.toml")
    texts = app["dependencies"] + app["optional-dependencies"]["dev"] + sdk["dependencies"]
    return [Requirement(t) for t in texts]


def _pins(name: str) -> dict[str, Version]:
    pins: dict[str, Version] = {}
    for line in (ROOT / name).read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9_.\-\[\]]+)==([^\s;]+)", line)
        if match:
            pins[canonicalize_name(match.group(1).split("[")[0])] = Version(match.group(2))
    return pins


def test_every_dependency_is_pinned_in_the_lock_within_its_bounds() -> None:
    pins = _pins("requirements-dev.lock")
    for req in _requirements():
        name = canonicalize_name(req.name)
        if name == "flagsite-sdk":
            continue
        assert name in pins, f"{req.name} is not in requirements-dev.lock: run `make lock`"
        assert req.specifier.contains(pins[name], prereleases=True), (
            f"requirements-dev.lock pins {req.name}=={pins[name]}, outside {req.specifier}: "
            "run `make lock`"
        )


def test_the_runtime_lock_matches_the_dev_lock() -> None:
    dev, runtime = _pins("requirements-dev.lock"), _pins("requirements.lock")
    app = _project(ROOT / "pyproject.toml")
    for text in app["dependencies"]:
        name = canonicalize_name(Requirement(text).name)
        if name != "flagsite-sdk":
            assert name in runtime, f"{name} missing from requirements.lock"
    assert {n: v for n, v in runtime.items() if dev.get(n) != v} == {}


def test_flagsite_sdk_is_pinned_to_the_copy_in_this_repository() -> None:
    sdk_version = _project(ROOT / "sdk" / "pyproject.toml")["version"]
    (req,) = [r for r in _requirements() if canonicalize_name(r.name) == "flagsite-sdk"]
    assert str(req.specifier) == f"=={sdk_version}"
    # Never resolved from an index: not in the locks, installed from ./sdk with --no-deps.
    for lock in ("requirements.lock", "requirements-dev.lock"):
        assert "flagsite-sdk" not in _pins(lock)
    makefile = (ROOT / "Makefile").read_text()
    assert "-r $(LOCK)" in makefile
    assert "--no-deps -e ./sdk -e ." in makefile


def test_every_dependency_has_an_upper_bound() -> None:
    unbounded = [
        str(req)
        for req in _requirements()
        if canonicalize_name(req.name) not in NO_UPPER_BOUND_NEEDED
        and not any(spec.operator in ("<", "<=", "==", "~=") for spec in req.specifier)
    ]
    assert unbounded == []
