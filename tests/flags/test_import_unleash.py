"""`manage.py import_unleash`: Unleash features become flagsite flags that serve the same users."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from flags.models import AuditEvent, Environment, Flag, FlagConfig, Segment
from flags.publish import ruleset_current

SPEC = Path(__file__).resolve().parents[1] / "engine" / "unleash_spec"

pytestmark = pytest.mark.django_db


@pytest.fixture
def env(db: Any) -> Environment:
    from flags.changes import Actor, environment_create

    return environment_create(key="development", name="Development", actor=Actor(label="t"))


def _spec_file(name: str, tmp_path: Path) -> tuple[Path, dict[str, Any]]:
    spec = json.loads((SPEC / name).read_text())
    path = tmp_path / "unleash.json"
    path.write_text(json.dumps(spec["state"]))
    return path, spec


def test_dry_run_lists_what_it_would_create_and_writes_nothing(env: Any, tmp_path: Path) -> None:
    path, spec = _spec_file("15-global-constraints.json", tmp_path)
    out = StringIO()
    call_command(
        "import_unleash", str(path), "--environment", "development", "--dry-run", stdout=out
    )
    text = out.getvalue()
    for feature in spec["state"]["features"]:
        assert f"would create flag {feature['name']}" in text
    assert "Would import" in text
    assert Flag.objects.count() == 0 and Segment.objects.count() == 0


@pytest.mark.parametrize(
    "name",
    [
        "09-strategy-constraints.json",
        "15-global-constraints.json",
        "17-dependent-features.json",
        "16-strategy-variants.json",
        "18-utf8-flag-names.json",
    ],
)
def test_imported_flags_serve_what_unleash_would(env: Any, tmp_path: Path, name: str) -> None:
    from flagsite_sdk.engine import evaluate
    from flagsite_sdk.importers.unleash import unleash_context, unleash_variant

    path, spec = _spec_file(name, tmp_path)
    call_command("import_unleash", str(path), "--environment", "development", stdout=StringIO())

    compiled = ruleset_current("development", env.id).compiled
    checked = 0
    for case in spec.get("tests", []):
        result = evaluate(compiled, case["toggleName"], unleash_context(case["context"]))
        enabled = unleash_variant(result)["feature_enabled"]
        assert enabled is case["expectedResult"], case["description"]
        checked += 1
    for case in spec.get("variantTests", []):
        result = evaluate(compiled, case["toggleName"], unleash_context(case["context"]))
        got = unleash_variant(result)
        assert got["name"] == case["expectedResult"]["name"], case["description"]
        checked += 1
    assert checked > 0
    assert AuditEvent.objects.filter(actor_label="import_unleash").exists()


def test_a_second_import_updates_in_place_with_new_versions(env: Any, tmp_path: Path) -> None:
    path, _ = _spec_file("09-strategy-constraints.json", tmp_path)
    call_command("import_unleash", str(path), "--environment", "development", stdout=StringIO())
    count = Flag.objects.count()
    call_command("import_unleash", str(path), "--environment", "development", stdout=StringIO())
    assert Flag.objects.count() == count
    assert all(c.version == 2 for c in FlagConfig.objects.all())


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "Not valid JSON"),
        ('{"version": 1}', "'features' to be a list"),
        ('{"features": [{"name": "a", "strategies": "x"}]}', r"features\[0\]\.strategies: must"),
        ("[]", "features"),
        ('{"features": ' + "[" * 10_000, "nested deeper than 64 levels"),
    ],
)
def test_malformed_files_are_refused_clearly(
    env: Any, tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(CommandError, match=message):
        call_command("import_unleash", str(path), "--environment", "development")


def test_an_unknown_environment_names_the_known_ones(env: Any, tmp_path: Path) -> None:
    path, _ = _spec_file("09-strategy-constraints.json", tmp_path)
    with pytest.raises(CommandError, match="Known environments: development"):
        call_command("import_unleash", str(path), "--environment", "prod")
