"""The data migration that reports stored regex patterns RE2 refuses (and changes nothing)."""

from __future__ import annotations

import importlib
import logging

import pytest
from django.apps import apps

from flags.models import FlagConfig, Segment

from .builders import bool_flag, environments

migration = importlib.import_module("flags.migrations.0005_report_re2_refused_patterns")


@pytest.mark.django_db
def test_it_reports_patterns_re2_refuses_and_keeps_them(
    capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    # Given patterns saved before the dialect became RE2 (written directly: the validator
    # refuses them now)
    dev, _prod = environments()
    flag = bool_flag("legacy")
    Segment.objects.create(
        key="old-seg",
        name="old",
        clauses=[
            {"attribute": "email", "op": "regex", "values": ["^ok$", "(a)\\1"]},
            {"attribute": "email", "op": "ends_with", "values": ["(?=x)"]},
        ],
    )
    config, _ = FlagConfig.objects.get_or_create(
        flag=flag, environment=dev, defaults={"off_variant": "off", "default": {"variant": "off"}}
    )
    config.rules = [
        {"id": "r1", "clauses": [{"attribute": "a", "op": "regex", "values": ["^x(?!y)"]}]},
        {"id": "r2", "clauses": [{"attribute": "a", "op": "regex", "values": ["^fine$"]}]},
    ]
    config.save()

    # When the migration runs
    with caplog.at_level(logging.WARNING, logger="flags.migrations"):
        migration.report(apps, None)

    # Then it names each refused pattern with its place and RE2's reason ...
    out = capsys.readouterr().out
    assert "2 stored regex pattern(s) do not compile with RE2" in out
    assert "segment 'old-seg' clauses[0].values[1]: '(a)\\\\1' does not compile (RE2: " in out
    assert "flag 'legacy' in 'dev' rules[0].clauses[0].values[0]: '^x(?!y)'" in out
    assert "^ok$" not in out and "^fine$" not in out and "(?=x)" not in out  # not regex / fine
    assert "do not compile with RE2" in caplog.text
    # ... and deletes nothing.
    assert Segment.objects.get(key="old-seg").clauses[0]["values"] == ["^ok$", "(a)\\1"]
    config.refresh_from_db()
    assert config.rules[0]["clauses"][0]["values"] == ["^x(?!y)"]


@pytest.mark.django_db
def test_it_is_silent_when_every_pattern_compiles(capsys: pytest.CaptureFixture[str]) -> None:
    migration.report(apps, None)
    assert capsys.readouterr().out == ""
