"""Team metrics: the validator against hostile input, the compiled Metric, who may change them,
the audit entries, and the running-experiment rule (docs/experiments.md, "Team metrics")."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.db.models import Q

from experiments.lifecycle import ExperimentError, experiment_conclude, experiment_stop
from experiments.metrics import metric_get, metrics_list
from experiments.models import MetricDefinition
from experiments.team_metric_changes import (
    team_metric_archive,
    team_metric_create,
    team_metric_update,
)
from experiments.team_metrics import (
    MAX_FILTERS,
    MAX_IN_VALUES,
    definition_clean,
    metric_compile,
)
from flags.changes import Actor
from flags.models import AuditEvent
from flags.validation import ConfigError
from tests.experiments.builders import SEARCH_LATENCY, running_experiment


def _errors(data: Any, **kwargs: Any) -> dict[str, str]:
    with pytest.raises(ConfigError) as caught:
        definition_clean(data, **kwargs)
    return dict(caught.value.errors)


def test_a_valid_definition_is_cleaned() -> None:
    out = definition_clean(SEARCH_LATENCY)
    assert out["key"] == "search-latency"
    assert out["filters"] == [{"field": "feature", "op": "eq", "value": "search"}]
    assert out["condition"] is None and out["denominator"] == ""


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"key": "Mean-Rating"}, "key"),
        ({"key": "mean_rating"}, "key"),  # a built-in's key
        ({"key": "score:relevance"}, "key"),
        ({"key": "a" * 65}, "key"),
        ({"key": None}, "key"),
        ({"name": ""}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"name": "bad\x00name"}, "name"),
        ({"name": "lone \ud800 surrogate"}, "name"),
        ({"description": ["not", "text"]}, "description"),
        ({"source": "auth_user"}, "source"),
        ({"kind": "median"}, "kind"),
        ({"unit": "session"}, "unit"),
        ({"direction": "up"}, "direction"),
        ({"format": "bytes"}, "format"),
        ({"value": "flags"}, "value"),  # a JSON column, not an allow-listed number
        ({"value": "environment__key"}, "value"),
        ({"value": "model"}, "value"),  # text, not a number
        ({"filters": "feature == search"}, "filters"),
        ({"filters": [{"field": "environment__api_keys__secret", "op": "eq", "value": "x"}]},
         "filters[0].field"),
        ({"filters": [{"field": "user_key", "op": "eq", "value": "x"}]}, "filters[0].field"),
        ({"filters": [{"field": "total_tokens", "op": "gte", "value": 1}]}, "filters[0].field"),
        ({"filters": [{"field": "model", "op": "regex", "value": ".*"}]}, "filters[0].op"),
        ({"filters": [{"field": "model", "op": "gte", "value": 1}]}, "filters[0].op"),
        ({"filters": [{"field": "latency_ms", "op": "contains", "value": "1"}]}, "filters[0].op"),
        ({"filters": [{"field": "latency_ms", "op": "gte", "value": float("nan")}]},
         "filters[0].value"),
        ({"filters": [{"field": "latency_ms", "op": "lte", "value": 1e300}]}, "filters[0].value"),
        ({"filters": [{"field": "latency_ms", "op": "lte", "value": True}]}, "filters[0].value"),
        ({"filters": [{"field": "error", "op": "eq", "value": "yes"}]}, "filters[0].value"),
        ({"filters": [{"field": "model", "op": "eq", "value": "m" * 201}]}, "filters[0].value"),
        ({"filters": [{"field": "model", "op": "eq", "value": "a\x00"}]}, "filters[0].value"),
        ({"filters": [{"field": "model", "op": "in", "value": []}]}, "filters[0].value"),
        ({"filters": [{"field": "model", "op": "in", "value": ["a", 3]}]}, "filters[0].value[1]"),
        ({"filters": [{"field": "model", "op": "in", "value": list(map(str, range(51)))}]},
         "filters[0].value"),
        ({"filters": [{"field": "model", "op": "eq", "value": "x", "sql": "1=1"}]},
         "filters[0]"),
        ({"filters": [{"field": "model", "op": "eq", "value": "gpt"}] * (MAX_FILTERS + 1)},
         "filters"),
        ({"extra": 1}, "extra"),
    ],
)  # fmt: skip
def test_hostile_input_is_refused_naming_the_field(change: dict[str, Any], field: str) -> None:
    assert field in _errors({**SEARCH_LATENCY, **change})


def test_limits_are_the_documented_ones() -> None:
    assert (MAX_FILTERS, MAX_IN_VALUES) == (10, 50)
    ok = [{"field": "model", "op": "in", "value": list(map(str, range(MAX_IN_VALUES)))}]
    assert definition_clean({**SEARCH_LATENCY, "filters": ok})["filters"][0]["value"][-1] == "49"


def test_the_shape_follows_the_kind() -> None:
    proportion = {**SEARCH_LATENCY, "kind": "proportion", "format": "percent"}
    assert "condition" in _errors(proportion)
    assert "condition.field" in _errors({**proportion, "condition": {"field": "nope"}})
    assert "quantile" in _errors({**SEARCH_LATENCY, "kind": "quantile", "quantile": 1.0})
    assert "unit" in _errors(
        {**SEARCH_LATENCY, "kind": "quantile", "quantile": 0.9, "unit": "user"}
    )
    assert "denominator" in _errors({**SEARCH_LATENCY, "kind": "ratio", "denominator": "model"})
    # A choice field compares with its choices only (a typo is an error, not an empty metric).
    signal = {"source": "implicit", "value": "value"}
    bad = [{"field": "signal", "op": "eq", "value": "copie"}]
    assert "filters[0].value" in _errors({**SEARCH_LATENCY, **signal, "filters": bad})
    assert _errors(["not", "an", "object"]) == {"": "The body is a JSON object."}


def test_it_compiles_to_a_metric_with_allow_listed_expressions() -> None:
    definition = MetricDefinition(
        **definition_clean(
            {
                **SEARCH_LATENCY,
                "kind": "ratio",
                "unit": "user",
                "value": "cost_usd",
                "denominator": "total_tokens",
            }
        )
    )
    metric = metric_compile(definition)
    assert (metric.kind, metric.unit, metric.source, metric.value) == (
        "ratio",
        "user",
        "llm_call",
        "cost_usd",
    )
    assert metric.where == Q(feature="search") & Q(cost_usd__isnull=False)
    assert metric.reads == ("llm_call.cost_usd", "llm_call.feature", "llm_call.total_tokens")


@pytest.mark.django_db
def test_viewers_read_editors_create_and_every_change_is_audited(
    editor_user: Any, viewer_user: Any
) -> None:
    with pytest.raises(PermissionDenied):
        team_metric_create(data=SEARCH_LATENCY, actor=Actor(user=viewer_user))
    editor = Actor(user=editor_user)
    created = team_metric_create(data=SEARCH_LATENCY, actor=editor)
    assert metric_get("search-latency").name == "Search latency"
    assert "search-latency" in [m.key for m in metrics_list()]
    with pytest.raises(ConfigError):
        team_metric_create(data=SEARCH_LATENCY, actor=editor)  # the key exists
    team_metric_update(definition=created, data={"name": "Search p-latency"}, actor=editor)
    team_metric_archive(definition=created, archived=True, actor=editor)
    assert "search-latency" not in [m.key for m in metrics_list()]
    with pytest.raises(KeyError):
        metric_get("search-latency", archived=False)
    assert metric_get("search-latency").name == "Search p-latency"  # experiments keep it
    actions = list(
        AuditEvent.objects.filter(object_type="metric")
        .order_by("id")
        .values_list("action", "actor")
    )
    assert actions == [
        ("metric.created", editor_user.pk),
        ("metric.updated", editor_user.pk),
        ("metric.archived", editor_user.pk),
    ]
    diff = AuditEvent.objects.get(action="metric.updated").diff
    assert diff == [{"path": "name", "before": "Search latency", "after": "Search p-latency"}]


@pytest.mark.django_db
def test_an_unconcluded_experiment_freezes_the_definition_not_the_name(
    demo: Any, actor: Any
) -> None:
    admin = actor
    definition = team_metric_create(data=SEARCH_LATENCY, actor=admin)
    experiment = running_experiment(secondary_metrics=["search-latency"])
    with pytest.raises(ConfigError) as caught:
        team_metric_update(
            definition=definition, data={"value": "ttft_ms", "filters": []}, actor=admin
        )
    assert {path for path, _ in caught.value.errors} == {"value", "filters"}
    assert "model-test" in str(caught.value)
    renamed = team_metric_update(
        definition=definition, data={"name": "Latency of search", "format": "number"}, actor=admin
    )
    assert renamed.name == "Latency of search"
    with pytest.raises(ConfigError) as caught:
        team_metric_update(definition=definition, data={"key": "other"}, actor=admin)
    assert dict(caught.value.errors).keys() == {"key"}
    stopped = experiment_stop(experiment=experiment, actor=admin, comment="enough")
    with pytest.raises(ConfigError):  # a decision is still to be made on its results
        team_metric_update(definition=definition, data={"value": "ttft_ms"}, actor=admin)
    experiment_conclude(experiment=stopped, ship="gpt-4", actor=admin, comment="keep control")
    changed = team_metric_update(definition=definition, data={"value": "ttft_ms"}, actor=admin)
    assert changed.value == "ttft_ms"


@pytest.mark.django_db
def test_new_experiments_cannot_choose_an_archived_metric(demo: Any, admin_user: Any) -> None:
    admin = Actor(user=admin_user)
    definition = team_metric_create(data=SEARCH_LATENCY, actor=admin)
    team_metric_archive(definition=definition, archived=True, actor=admin)
    with pytest.raises(ExperimentError) as caught:
        running_experiment(secondary_metrics=["search-latency"])
    assert caught.value.field == "secondary_metrics"
