"""Rollout gates read team metrics from the one catalogue (experiments.metrics.metric_get):
a team metric's filter decides which calls the gate sees; implicit-signal metrics and
archived ones are refused when the plan is made."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from experiments.team_metric_changes import team_metric_archive, team_metric_create
from flags.validation import ConfigError
from flagsite import clock
from releases.checks import rollouts_check
from releases.models import GateReading, PlanStatus
from releases.templates_builtin import GateSpec
from tests.flags.builders import environments

from .builders import calls, model_flag, started_plan

SEARCH_ERRORS = {
    "key": "search-errors", "name": "Search errors", "source": "llm_call",
    "kind": "proportion", "unit": "request", "direction": "lower", "format": "percent",
    "condition": {"field": "error", "op": "eq", "value": True},
    "filters": [{"field": "feature", "op": "eq", "value": "search"}],
}  # fmt: skip


@pytest.fixture
def prod(db: Any) -> Any:
    return environments()[1]


def test_a_gate_on_a_team_metric_reads_only_its_filtered_calls(prod: Any, actor: Any) -> None:
    team_metric_create(data=SEARCH_ERRORS, actor=actor)
    with clock.freeze(datetime(2026, 3, 2, 9, 0, tzinfo=UTC)):
        flag = model_flag(environment=prod)
        plan = started_plan(flag, prod, actor, gates=[GateSpec("search-errors", 0.05, 300, 20)])
        calls(prod, variant="new", n=40, errors=40, feature="chat")  # not search: unseen
        calls(prod, variant="new", n=30, errors=0, feature="search")
        assert rollouts_check() == {plan.pk: "healthy"}
        reading = GateReading.objects.get(gate__plan=plan)
        assert (reading.value, reading.sample) == (0.0, 30)
        calls(prod, variant="new", n=30, errors=30, feature="search")
        assert rollouts_check() == {plan.pk: "rolled_back"}
    plan.refresh_from_db()
    assert plan.status == PlanStatus.ROLLED_BACK


def test_implicit_and_archived_team_metrics_are_refused_as_gates(prod: Any, actor: Any) -> None:
    copied = {
        "key": "copied", "name": "Copied", "source": "implicit", "kind": "mean",
        "unit": "request", "direction": "higher", "value": "value",
    }  # fmt: skip
    team_metric_create(data=copied, actor=actor)
    archived = team_metric_create(data=SEARCH_ERRORS, actor=actor)
    team_metric_archive(definition=archived, archived=True, actor=actor)
    flag = model_flag(environment=prod)
    for key in ("copied", "search-errors"):
        with pytest.raises(ConfigError) as caught:
            started_plan(flag, prod, actor, gates=[GateSpec(key, 0.05, 300)])
        assert [path for path, _ in caught.value.errors] == ["gates[0].metric"]
