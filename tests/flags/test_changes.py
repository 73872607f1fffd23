"""Every change writes a new immutable version and an audit entry; rollbacks are new versions."""

from __future__ import annotations

from typing import Any

import pytest

from flags.changes import (
    Actor,
    flag_config_update,
    flag_toggle,
    flag_update,
    segment_update,
    version_restore,
)
from flags.models import AuditEvent, Environment, FlagConfig, Version
from flags.models.history import ImmutableError
from flags.validation import ConfigError
from tests.flags.builders import bool_flag, environments, rule, segment

pytestmark = pytest.mark.django_db


def test_it_creates_a_disabled_config_and_first_versions_everywhere(actor: Actor) -> None:
    environments()
    flag = bool_flag()
    configs = FlagConfig.objects.filter(flag=flag)
    assert {c.environment.key for c in configs} == {"dev", "prod"}
    assert all(not c.enabled and c.off_variant == "off" for c in configs)
    assert Version.objects.filter(flag=flag, subject="flag", number=1).count() == 1
    assert Version.objects.filter(flag=flag, subject="config", number=1).count() == 2
    assert AuditEvent.objects.filter(action="flag.created", object_key=flag.key).exists()


def test_it_versions_and_audits_a_config_change(actor: Actor) -> None:
    dev, _ = environments()
    flag = bool_flag()
    before = Environment.objects.get(pk=dev.pk).ruleset_version
    config = flag_config_update(
        flag=flag,
        environment=dev,
        actor=actor,
        comment="beta users first",
        enabled=True,
        rules=[
            rule(
                "beta",
                {"attribute": "plan", "op": "in", "values": ["beta"]},
                serve={"variant": "on"},
            )
        ],
    )
    assert config.version == 2
    latest = Version.objects.get(flag=flag, environment=dev, number=2)
    assert latest.data == config.as_data()
    assert latest.author == actor.user and latest.comment == "beta users first"
    event = AuditEvent.objects.filter(object_key=flag.key, environment=dev).first()
    assert event is not None and event.version == latest
    assert {c["path"] for c in event.diff} >= {"enabled", "rules[id=beta]"}
    assert Environment.objects.get(pk=dev.pk).ruleset_version == before + 1


def test_it_does_not_version_a_change_that_changes_nothing(actor: Actor) -> None:
    dev, _ = environments()
    flag = bool_flag()
    flag_config_update(flag=flag, environment=dev, actor=actor, enabled=False)
    assert Version.objects.filter(flag=flag, environment=dev).count() == 1


def test_rollback_writes_a_new_version_equal_to_the_old_one(actor: Actor) -> None:
    dev, _ = environments()
    flag = bool_flag()
    flag_toggle(flag=flag, environment=dev, enabled=True, actor=actor)
    flag_config_update(flag=flag, environment=dev, actor=actor, default={"variant": "on"})
    v2 = Version.objects.get(flag=flag, environment=dev, number=2)

    restored = version_restore(version=v2, actor=actor, comment="default 'on' was a mistake")

    assert restored.number == 4
    assert restored.data == v2.data
    config = FlagConfig.objects.get(flag=flag, environment=dev)
    assert config.default == {"variant": "off"} and config.enabled is True
    event = AuditEvent.objects.filter(action="flag.rolled_back").get()
    assert event.comment == "default 'on' was a mistake"
    assert Version.objects.filter(flag=flag, environment=dev).count() == 4


def test_history_rows_cannot_be_changed_or_deleted(actor: Actor) -> None:
    environments()
    flag = bool_flag()
    version = Version.objects.filter(flag=flag).first()
    assert version is not None
    version.comment = "rewritten"
    with pytest.raises(ImmutableError):
        version.save()
    with pytest.raises(ImmutableError):
        version.delete()
    event = AuditEvent.objects.first()
    assert event is not None
    with pytest.raises(ImmutableError):
        event.delete()


def test_production_changes_need_a_comment(actor: Actor) -> None:
    _, prod = environments()
    flag = bool_flag()
    with pytest.raises(ConfigError) as exc:
        flag_toggle(flag=flag, environment=prod, enabled=True, actor=actor)
    assert exc.value.errors[0][0] == "comment"
    assert not FlagConfig.objects.get(flag=flag, environment=prod).enabled
    flag_toggle(flag=flag, environment=prod, enabled=True, actor=actor, comment="launch")
    assert FlagConfig.objects.get(flag=flag, environment=prod).enabled


def test_flag_definition_changes_are_versioned_and_checked_against_configs(actor: Actor) -> None:
    dev, _ = environments()
    flag = bool_flag()
    flag_config_update(flag=flag, environment=dev, actor=actor, default={"variant": "on"})
    # Removing a variant that the dev config still serves is refused, naming the environment.
    with pytest.raises(ConfigError) as exc:
        flag_update(flag=flag, actor=actor, variants=[{"key": "off", "value": False}])
    assert any("dev" in message for _, message in exc.value.errors)
    flag = flag_update(flag=flag, actor=actor, description="checkout v2", tags=["checkout"])
    assert flag.version == 2
    assert Version.objects.get(flag=flag, subject="flag", number=2).data["tags"] == ["checkout"]


def test_segment_changes_are_versioned_and_republish_every_environment(actor: Actor) -> None:
    environments()
    seg = segment(included=["a"])
    versions = {e.key: e.ruleset_version for e in Environment.objects.all()}
    seg = segment_update(segment=seg, actor=actor, included=["a", "b"], comment="add b")
    assert seg.version == 2
    assert Version.objects.get(segment=seg, number=2).data["included"] == ["a", "b"]
    for env in Environment.objects.all():
        assert env.ruleset_version == versions[env.key] + 1


def _refused(**changes: Any) -> list[tuple[str, str]]:
    dev, _ = environments()
    flag = bool_flag()
    with pytest.raises(ConfigError) as exc:
        flag_config_update(flag=flag, environment=dev, actor=Actor(label="t"), **changes)
    # Nothing was written.
    assert FlagConfig.objects.get(flag=flag, environment=dev).version == 1
    return exc.value.errors


def test_it_refuses_a_split_that_does_not_add_up_to_100() -> None:
    errors = _refused(
        rules=[
            rule(
                "canary",
                serve={
                    "split": [{"variant": "on", "weight": 30}, {"variant": "off", "weight": 60}]
                },
            )
        ]
    )
    path, message = errors[0]
    assert path.startswith("rules[0].serve")
    assert "canary" in message and "100" in message


def test_it_refuses_an_unknown_variant() -> None:
    errors = _refused(default={"variant": "maybe"})
    assert errors[0][0].startswith("default")
    assert "maybe" in errors[0][1]


def test_it_refuses_a_regex_that_does_not_compile() -> None:
    errors = _refused(
        rules=[
            rule(
                "emails",
                {"attribute": "email", "op": "regex", "values": ["([a-z"]},
                serve={"variant": "on"},
            )
        ]
    )
    assert errors[0][0].startswith("rules[0].clauses[0]")
    assert "emails" in errors[0][1] or "regex" in errors[0][1].lower()


def test_it_refuses_a_segment_cycle(actor: Actor) -> None:
    environments()
    a = segment("seg-a")
    segment("seg-b", clauses=[{"op": "segment", "values": ["seg-a"]}])
    with pytest.raises(ConfigError) as exc:
        segment_update(segment=a, actor=actor, clauses=[{"op": "segment", "values": ["seg-b"]}])
    assert "cycle" in str(exc.value).lower()


def test_it_refuses_a_prerequisite_cycle(actor: Actor) -> None:
    dev, _ = environments()
    a = bool_flag("flag-a")
    b = bool_flag("flag-b")
    flag_config_update(
        flag=a, environment=dev, actor=actor, prerequisites=[{"flag": "flag-b", "variants": ["on"]}]
    )
    with pytest.raises(ConfigError) as exc:
        flag_config_update(
            flag=b,
            environment=dev,
            actor=actor,
            prerequisites=[{"flag": "flag-a", "variants": ["on"]}],
        )
    assert "cycle" in str(exc.value).lower()
