"""An experiment's lifecycle changes its flag through flags.changes: versioned, audited, with
the production comment rule; exclusivity; ship / keep control; SRM blocks concluding."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from flagsite_sdk.engine import compile_ruleset, evaluate, experiment_of

from experiments.lifecycle import (
    ExperimentError,
    experiment_conclude,
    experiment_create,
    experiment_srm_acknowledge,
    experiment_start,
    experiment_stop,
)
from experiments.models import Experiment, ExperimentResult, Status
from flags.models import AuditEvent, Environment, Flag, FlagConfig, Version
from flags.ruleset import ruleset_build
from flags.validation import ConfigError
from tests.experiments.builders import SYSTEM, running_experiment


def _config() -> FlagConfig:
    return FlagConfig.objects.get(flag__key="llm-model", environment__key="development")


def _served(users: int = 2000) -> dict[str, tuple[str | None, str | None]]:
    ruleset = compile_ruleset(ruleset_build(Environment.objects.get(key="development")))
    out = {}
    for i in range(users):
        ev = evaluate(ruleset, "llm-model", {"key": f"user-{i}"})
        out[f"user-{i}"] = (ev.variant, ev.rule_id)
    return out


@pytest.mark.django_db
def test_starting_adds_the_experiment_rule_as_a_versioned_audited_change(demo: Any) -> None:
    before = _config()
    experiment = running_experiment(traffic_percentage=50)
    after = _config()
    assert experiment.status == Status.RUNNING and experiment.started_at is not None
    assert after.version == before.version + 1
    rule = after.rules[-1]
    assert rule["id"] == "experiment:model-test"
    assert rule["rollout"]["percentage"] == 50
    assert rule["serve"]["salt"] == experiment.salt
    assert after.rules[:-1] == before.rules  # targeting rules untouched, evaluated first
    assert Version.objects.filter(flag__key="llm-model", number=after.version).exists()
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"experiment.started", "experiment.created"} <= actions


@pytest.mark.django_db
def test_starting_reshuffles_nobody_outside_the_experiment(demo: Any) -> None:
    before = _served()
    running_experiment(traffic_percentage=30)
    after = _served()
    inside = [u for u, (_, rule) in after.items() if experiment_of(rule) == "model-test"]
    # About 30 % of the users who reached the default are in, split evenly.
    assert 0.2 * len(after) < len(inside) < 0.4 * len(after)
    counts = Counter(after[u][0] for u in inside)
    assert set(counts) == {"gpt-4", "gpt-4-turbo"}
    assert 0.4 < counts["gpt-4"] / len(inside) < 0.6
    # Everyone else is served exactly as before.
    assert all(after[u] == before[u] for u in after if u not in inside)


@pytest.mark.django_db
def test_the_experiment_buckets_with_its_own_salt(demo: Any) -> None:
    running_experiment(key="one", traffic_percentage=100)
    first = _served(500)
    experiment_stop(experiment=Experiment.objects.get(key="one"), actor=SYSTEM)
    running_experiment(key="two", traffic_percentage=100)
    second = _served(500)
    changed = sum(first[u][0] != second[u][0] for u in first)
    assert 150 < changed < 350  # independent assignments: about half differ


@pytest.mark.django_db
def test_one_running_experiment_per_flag_and_environment(demo: Any) -> None:
    running_experiment(key="first")
    second = experiment_create(
        flag=Flag.objects.get(key="llm-model"),
        environment=Environment.objects.get(key="development"),
        key="second",
        name="",
        control="gpt-4",
        treatments=["gpt-4-turbo"],
        primary_metric="error_rate",
        actor=SYSTEM,
    )
    with pytest.raises(ExperimentError, match="'first' is already running"):
        experiment_start(experiment=second, actor=SYSTEM)


@pytest.mark.django_db
def test_production_lifecycle_changes_need_a_comment(demo: Any, admin_user: Any) -> None:
    from flags.changes import Actor

    experiment = experiment_create(
        flag=Flag.objects.get(key="llm-model"),
        environment=Environment.objects.get(key="production"),
        key="prod-test",
        name="",
        control="gpt-4",
        treatments=["gpt-4-turbo"],
        primary_metric="error_rate",
        actor=Actor(user=admin_user),
    )
    with pytest.raises(ConfigError, match="need a comment"):
        experiment_start(experiment=experiment, actor=Actor(user=admin_user))
    started = experiment_start(experiment=experiment, actor=Actor(user=admin_user), comment="go")
    assert started.status == Status.RUNNING


@pytest.mark.django_db
def test_unknown_variants_and_metrics_are_refused_naming_the_field(demo: Any) -> None:
    base: dict[str, Any] = {
        "flag": Flag.objects.get(key="llm-model"),
        "environment": Environment.objects.get(key="development"),
        "key": "x",
        "name": "",
        "control": "gpt-4",
        "treatments": ["gpt-4-turbo"],
        "primary_metric": "error_rate",
        "actor": SYSTEM,
    }
    for change, field in (
        ({"control": "nope"}, "control"),
        ({"treatments": ["gpt-4"]}, "treatments"),
        ({"primary_metric": "nope"}, "primary_metric"),
        ({"guardrails": [{"metric": "error_rate"}]}, "guardrails"),
        ({"traffic_percentage": 0}, "traffic_percentage"),
    ):
        with pytest.raises(ExperimentError) as caught:
            experiment_create(**(base | change))
        assert caught.value.field == field


@pytest.mark.django_db
def test_shipping_a_variant_makes_it_the_default(demo: Any) -> None:
    experiment = running_experiment()
    experiment_conclude(experiment=experiment, ship="gpt-4-turbo", actor=SYSTEM)
    config = _config()
    assert config.default == {"variant": "gpt-4-turbo"}
    assert all(r["id"] != "experiment:model-test" for r in config.rules)
    experiment.refresh_from_db()
    assert experiment.status == Status.CONCLUDED and experiment.decision == "gpt-4-turbo"
    assert AuditEvent.objects.filter(action="experiment.concluded").exists()


@pytest.mark.django_db
def test_keeping_control_restores_the_pre_experiment_configuration(demo: Any) -> None:
    before = _config().as_data()
    experiment = running_experiment()
    experiment_stop(experiment=experiment, actor=SYSTEM)
    assert _config().as_data() == before
    experiment_conclude(experiment=experiment, ship="gpt-4", actor=SYSTEM)
    assert _config().as_data() == before


@pytest.mark.django_db
def test_a_sample_ratio_mismatch_blocks_concluding_until_acknowledged(demo: Any) -> None:
    from django.utils import timezone

    experiment = running_experiment()
    ExperimentResult.objects.create(
        experiment=experiment,
        period=timezone.now(),
        computed_at=timezone.now(),
        data={"srm": {"flagged": True, "p_value": 1e-9, "chi2": 40.0}},
    )
    with pytest.raises(ExperimentError) as caught:
        experiment_conclude(experiment=experiment, ship="gpt-4", actor=SYSTEM)
    assert caught.value.field == "srm"
    experiment_srm_acknowledge(experiment=experiment, actor=SYSTEM)
    concluded = experiment_conclude(experiment=experiment, ship="gpt-4", actor=SYSTEM)
    assert concluded.status == Status.CONCLUDED
