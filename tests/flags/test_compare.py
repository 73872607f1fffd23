"""Copying one environment's targeting to another: one change, refused when stale."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import PermissionDenied

from flags.changes import Actor, StaleCopy, flag_config_copy, flag_config_update, flag_update
from flags.compare import copy_plan, variant_uses
from flags.models import AuditEvent, FlagConfig, Version
from flags.validation import ConfigError
from tests.flags.builders import bool_flag, environments, rule, segment

pytestmark = pytest.mark.django_db

ACTOR = Actor(label="test")
CHANGED = {"rules[id=beta-rule]", "default.variant", "default.split"}
SPLIT = {"split": [{"variant": "on", "weight": 30}, {"variant": "off", "weight": 70}]}


def staged() -> tuple[Any, Any, Any]:
    """dev: a segment rule (50% rollout) serving on, default split 30/70, enabled; prod: off,
    no rules."""
    dev, prod = environments()
    segment("beta", included=["ana"])
    flag = bool_flag()
    beta = rule("beta-rule", {"op": "segment", "values": ["beta"]}, serve={"variant": "on"})
    beta["rollout"] = {"percentage": 50}
    flag_config_update(
        flag=flag, environment=dev, actor=ACTOR, enabled=True, rules=[beta], default=SPLIT
    )
    return flag, dev, prod


def _copy_seen(flag: Any, source: Any, target: Any, source_seen: int, target_seen: int) -> Any:
    """Copy as the script would after previewing these versions."""
    return flag_config_copy(
        flag=flag,
        source=source,
        target=target,
        actor=ACTOR,
        comment="copy",
        source_version=source_seen,
        target_version=target_seen,
    )


def test_the_plan_lists_what_changes_in_the_target_against_it_now() -> None:
    flag, dev, prod = staged()
    plan = copy_plan(flag, dev, prod)
    assert {c["path"] for c in plan.diff} == CHANGED
    assert plan.target_version == 1 and plan.source_version == 2
    assert plan.target_enabled is False
    assert plan.problems == []
    assert plan.segments_reaching_production == ["beta"]


def test_variant_uses_names_rules_rollouts_and_split_weights() -> None:
    flag, dev, _ = staged()
    uses = variant_uses(FlagConfig.objects.get(flag=flag, environment=dev).as_data())
    assert uses == {
        "off": ["off", "default 70%"],
        "on": ["rule beta-rule (50% rollout)", "default 30%"],
    }


def test_it_copies_targeting_as_one_version_and_one_audit_event(admin_user: Any) -> None:
    flag, dev, prod = staged()
    config = flag_config_copy(
        flag=flag,
        source=dev,
        target=prod,
        actor=Actor(user=admin_user),
        comment="dev looked good",
        source_version=2,
        target_version=1,
    )
    source = FlagConfig.objects.get(flag=flag, environment=dev)
    assert config.version == 2
    assert config.rules == source.rules and config.default == source.default
    assert config.enabled is False  # the switch is not targeting
    assert Version.objects.filter(flag=flag, environment=prod).count() == 2
    event = AuditEvent.objects.get(action="flag.config_copied")
    assert event.environment == prod and event.comment == "dev looked good"
    assert event.summary.startswith("copied dev's targeting of new-checkout to prod (v2)")
    assert {c["path"] for c in event.diff} == CHANGED


def test_a_production_target_needs_a_comment_and_an_admin(editor_user: Any) -> None:
    flag, dev, prod = staged()
    with pytest.raises(ConfigError) as refused:
        flag_config_copy(flag=flag, source=dev, target=prod, actor=ACTOR)
    assert refused.value.errors[0][0] == "comment"
    with pytest.raises(PermissionDenied):
        flag_config_copy(
            flag=flag, source=dev, target=prod, actor=Actor(user=editor_user), comment="x"
        )
    assert FlagConfig.objects.get(flag=flag, environment=prod).version == 1


def test_a_stale_preview_is_refused_and_nothing_is_written() -> None:
    flag, dev, prod = staged()
    plan = copy_plan(flag, dev, prod)
    # Someone changes production after the preview
    flag_config_update(
        flag=flag, environment=prod, actor=ACTOR, comment="hotfix", default={"variant": "on"}
    )
    with pytest.raises(StaleCopy) as refused:
        _copy_seen(flag, dev, prod, plan.source_version, plan.target_version)
    assert refused.value.errors == [
        ("target_version", "Prod changed since the preview (version 1 then, 2 now).")
    ]
    prod_config = FlagConfig.objects.get(flag=flag, environment=prod)
    assert prod_config.default == {"variant": "on"} and prod_config.version == 2
    assert not AuditEvent.objects.filter(action="flag.config_copied").exists()


def test_a_source_changed_since_the_preview_is_refused_too() -> None:
    flag, dev, prod = staged()
    flag_config_update(flag=flag, environment=dev, actor=ACTOR, default={"variant": "off"})
    with pytest.raises(StaleCopy):
        _copy_seen(flag, dev, prod, 2, 1)


def test_an_archived_prerequisite_is_a_problem_named_before_applying() -> None:
    flag, dev, prod = staged()
    parent = bool_flag("parent")
    flag_config_update(
        flag=flag,
        environment=dev,
        actor=ACTOR,
        prerequisites=[{"flag": "parent", "variants": ["on"]}],
    )
    flag_update(flag=parent, actor=ACTOR, comment="gone", lifecycle="archived")
    plan = copy_plan(flag, dev, prod)
    assert plan.problems == [
        "Prerequisite flag parent is archived or gone, so Prod could not evaluate it."
    ]
    with pytest.raises(ConfigError):
        flag_config_copy(flag=flag, source=dev, target=prod, actor=ACTOR, comment="copy")


def test_copying_to_itself_is_refused() -> None:
    flag, dev, _ = staged()
    with pytest.raises(ConfigError):
        flag_config_copy(flag=flag, source=dev, target=dev, actor=ACTOR)
