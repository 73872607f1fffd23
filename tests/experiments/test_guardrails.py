"""Guardrails as people edit them: the form rows (percent in, fraction stored; hostile input),
the one validator (the API too), the create form and the experiment page's editor (audit
entry, roles, status), and the demo's team metric."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from experiments.demo import DEMO_KEY, demo_experiment_load
from experiments.guardrails import (
    MAX_GUARDRAILS,
    GuardrailError,
    Row,
    guardrails_validate,
    rows_clean,
    rows_parse,
)
from experiments.lifecycle import ExperimentError, experiment_conclude
from experiments.metrics import DEFAULT_GUARDRAILS
from experiments.models import Experiment, MetricDefinition
from experiments.team_metric_changes import team_metric_archive, team_metric_create
from flags.models import AuditEvent
from tests.experiments.builders import SEARCH_LATENCY, SYSTEM, running_experiment

pytestmark = pytest.mark.django_db

FORM = {
    "key": "guarded",
    "name": "Guarded",
    "flag": "llm-model",
    "environment": "development",
    "control": "gpt-4",
    "treatments": "gpt-4-turbo",
    "traffic_percentage": "50",
    "primary_metric": "thumbs_up_rate",
    "correction": "holm",
    "sequential": "on",
    "target_units_per_variant": "500",
}
ROW_1_THRESHOLD = "Guardrail row 1, threshold:"


def _rows(*pairs: tuple[str, str]) -> list[Row]:
    return [Row(i, metric, threshold) for i, (metric, threshold) in enumerate(pairs)]


def _posted(*pairs: tuple[str, str]) -> dict[str, str]:
    data = {"guardrails_edited": "1"}
    for i, (metric, threshold) in enumerate(pairs):
        data[f"guardrail-{i}-metric"] = metric
        data[f"guardrail-{i}-threshold"] = threshold
    return data


def test_rows_store_percent_as_a_fraction_and_pick_the_bound_from_the_direction() -> None:
    out, errors = rows_clean(
        _rows(
            ("safety_violation_rate", "0.1"),
            ("", ""),  # blank rows are ignored
            ("p95_latency_ms", "3,000"),
            ("thumbs_up_rate", "40 %"),  # higher is better: a minimum
            ("hallucination_rate", "7"),
        )
    )
    assert errors == []
    assert out == [
        {"metric": "safety_violation_rate", "max": 0.001},
        {"metric": "p95_latency_ms", "max": 3000.0},
        {"metric": "thumbs_up_rate", "min": 0.4},
        {"metric": "hallucination_rate", "max": 0.07},  # not 0.07000000000000001
    ]


@pytest.mark.parametrize(
    ("metric", "threshold", "expected"),
    [
        ("error_rate", "nan", "Guardrail row 1, threshold: a number from 0 to 100 %."),
        ("error_rate", "inf", "Guardrail row 1, threshold: a number from 0 to 100 %."),
        ("error_rate", "-1", "Guardrail row 1, threshold: a number from 0 to 100 %."),
        ("error_rate", "101", "Guardrail row 1, threshold: a number from 0 to 100 %."),
        ("p95_latency_ms", "1e400", f"{ROW_1_THRESHOLD} a number from 0 to 1,000,000,000 ms."),
        ("p95_latency_ms", "9" * 30, f"{ROW_1_THRESHOLD} a number from 0 to 1,000,000,000 ms."),
        ("p95_latency_ms", "fast", "Guardrail row 1, threshold: 'fast' is not a number."),
        ("p95_latency_ms", "300%", "Guardrail row 1, threshold: '300%' is not a number."),
        ("p95_latency_ms", "", "Guardrail row 1, threshold: enter a number for P95"),
        ("no_such_metric", "1", "Guardrail row 1, metric: unknown or archived metric"),
        ("", "5", "Guardrail row 1, metric: choose a metric"),
        ("x" * 5000, "1", "Guardrail row 1, metric: unknown or archived metric"),
    ],
)
def test_each_bad_row_is_named_with_its_field(metric: str, threshold: str, expected: str) -> None:
    out, errors = rows_clean(_rows((metric, threshold)))
    assert out == [] and len(errors) == 1
    assert errors[0].startswith(expected)


def test_a_duplicate_metric_names_both_rows() -> None:
    _, errors = rows_clean(_rows(("error_rate", "1"), ("mean_rating", "3"), ("error_rate", "2")))
    assert errors == ["Guardrail row 3, metric: Error rate is already watched by row 1."]


def test_a_hundred_rows_are_refused_with_the_limit() -> None:
    posted = _posted(*[("error_rate", str(i)) for i in range(100)])
    out, errors = rows_clean(rows_parse(posted))
    assert out == []
    assert errors == [f"Guardrails: at most {MAX_GUARDRAILS} (got 100)."]


def test_rows_parse_reads_only_row_fields_in_index_order() -> None:
    rows = rows_parse(
        {
            "guardrail-10-metric": "error_rate",
            "guardrail-2-metric": "mean_rating",
            "guardrail-2-threshold": " 3 ",
            "guardrail-99999-metric": "error_rate",  # more than 3 digits: not a row
            "guardrail-x-metric": "error_rate",
        }
    )
    assert [(r.index, r.metric, r.threshold) for r in rows] == [
        (2, "mean_rating", "3"),
        (10, "error_rate", ""),
    ]


def test_an_archived_team_metric_is_refused_unless_already_watched() -> None:
    d = team_metric_create(data=SEARCH_LATENCY, actor=SYSTEM)
    assert rows_clean(_rows(("search-latency", "800")))[0] == [
        {"metric": "search-latency", "max": 800.0}
    ]
    team_metric_archive(definition=d, archived=True, actor=SYSTEM)
    _, errors = rows_clean(_rows(("search-latency", "800")))
    assert errors == ["Guardrail row 1, metric: unknown or archived metric 'search-latency'."]
    kept, errors = rows_clean(_rows(("search-latency", "900")), allowed_archived={"search-latency"})
    assert errors == [] and kept == [{"metric": "search-latency", "max": 900.0}]


@pytest.mark.parametrize(
    ("guardrails", "message"),
    [
        ({"metric": "error_rate", "max": 0.01}, "A list"),
        ([{"metric": "error_rate", "max": float("nan")}], "finite number, 0 or more"),
        ([{"metric": "error_rate", "max": -0.01}], "finite number, 0 or more"),
        ([{"metric": "error_rate", "max": 1.5}], "at most 100 %"),
        ([{"metric": "p95_latency_ms", "max": 1e300}], "at most 1,000,000,000"),
        ([{"metric": "error_rate", "max": True}], "is a number"),
        ([{"metric": "error_rate", "max": "0.01"}], "is a number"),
        ([{"metric": "error_rate", "max": 0.01, "min": 0}], "one number"),
        ([{"metric": "error_rate", "max": 0.01}, {"metric": "error_rate", "max": 0.02}], "already"),
        ([{"metric": "error_rate", "max": 0.01}] * (MAX_GUARDRAILS + 1), "At most 10"),
    ],
)
def test_the_api_shape_is_validated_by_the_same_rules(guardrails: Any, message: str) -> None:
    with pytest.raises(GuardrailError) as caught:
        guardrails_validate(guardrails)
    assert message in str(caught.value)


def test_the_management_api_refuses_bad_guardrails_naming_the_field(
    admin_client: Client, demo: Any
) -> None:
    body = {
        "key": "api-guarded",
        "flag": "llm-model",
        "environment": "development",
        "control": "gpt-4",
        "treatments": ["gpt-4-turbo"],
        "primary_metric": "error_rate",
        "guardrails": [{"metric": "error_rate", "max": -1}],
    }
    response = admin_client.post("/api/v1/experiments", body, content_type="application/json")
    assert response.status_code == 400
    assert "guardrails[0]" in response.json()["error"]["fields"]["guardrails"][0]


def test_the_create_form_shows_the_defaults_in_the_form_units(
    admin_client: Client, demo: Any
) -> None:
    page = admin_client.get("/experiments/new").content.decode()
    assert 'name="guardrail-0-threshold"' in page and 'value="0.1"' in page  # 0.1 %, not 0.001
    assert 'value="3000"' in page and 'value="5"' in page and 'value="1"' in page
    assert 'name="guardrail-7-metric"' in page  # 8 rows without JavaScript
    assert 'name="guardrail-8-metric"' not in page
    assert "style=" not in page and "<script>" not in page


def test_the_create_form_stores_edited_guardrails(admin_client: Client, demo: Any) -> None:
    team_metric_create(data=SEARCH_LATENCY, actor=SYSTEM)
    posted = _posted(
        ("safety_violation_rate", "0.2"),
        ("hallucination_rate", "5"),
        ("", ""),  # removed
        ("error_rate", "1"),
        ("search-latency", "1200"),
    )
    response = admin_client.post("/experiments/new", FORM | posted)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Experiment.objects.get(key="guarded").guardrails == [
        {"metric": "safety_violation_rate", "max": 0.002},
        {"metric": "hallucination_rate", "max": 0.05},
        {"metric": "error_rate", "max": 0.01},
        {"metric": "search-latency", "max": 1200.0},
    ]
    page = admin_client.get("/experiments/guarded/").content.decode()
    assert "Safety-violation rate ≤ 0.2 %" in page
    assert "Search latency ≤ 1200 ms" in page


def test_the_create_form_without_editor_fields_keeps_the_defaults(
    admin_client: Client, demo: Any
) -> None:
    assert admin_client.post("/experiments/new", FORM).status_code == 302
    assert Experiment.objects.get(key="guarded").guardrails == list(DEFAULT_GUARDRAILS)


def test_a_bad_row_answers_400_keeps_the_input_and_creates_nothing(
    admin_client: Client, demo: Any
) -> None:
    posted = _posted(("error_rate", "1"), ("error_rate", "NaN"))
    response = admin_client.post("/experiments/new", FORM | posted)
    body = response.content.decode()
    assert response.status_code == 400
    assert "Guardrail row 2, metric: Error rate is already watched by row 1." in body
    assert 'value="NaN"' in body  # what was typed stays in the row
    assert not Experiment.objects.filter(key="guarded").exists()


def test_editing_a_running_experiment_is_audited_with_who_and_the_comment(
    client: Client, editor_user: Any, demo: Any
) -> None:
    experiment = running_experiment()
    client.force_login(editor_user)
    page = client.get("/experiments/model-test/").content.decode()
    assert "/experiments/model-test/guardrails" in page and "Error rate ≤ 1 %" in page
    posted = _posted(("error_rate", "2"), ("p95_latency_ms", "2500"))
    response = client.post(
        "/experiments/model-test/guardrails", posted | {"comment": "errors are noisy"}
    )
    assert response.status_code == 302
    experiment.refresh_from_db()
    assert experiment.guardrails == [
        {"metric": "error_rate", "max": 0.02},
        {"metric": "p95_latency_ms", "max": 2500.0},
    ]
    event = AuditEvent.objects.get(action="experiment.guardrails_changed")
    assert event.actor == editor_user and event.comment == "errors are noisy"
    assert event.object_key == "model-test"
    assert event.environment is not None and event.environment.key == "development"
    assert event.diff[0]["before"] == list(DEFAULT_GUARDRAILS)
    assert "error_rate ≤ 0.02" in event.summary
    # Saving the same guardrails again records nothing
    client.post("/experiments/model-test/guardrails", posted)
    assert AuditEvent.objects.filter(action="experiment.guardrails_changed").count() == 1


def test_viewers_cannot_and_concluded_experiments_do_not_change(
    client: Client, viewer_user: Any, admin_user: Any, demo: Any
) -> None:
    experiment = running_experiment()
    client.force_login(viewer_user)
    posted = _posted(("error_rate", "2"))
    assert client.post("/experiments/model-test/guardrails", posted).status_code == 403
    experiment_conclude(experiment=experiment, ship="gpt-4", actor=SYSTEM)
    client.force_login(admin_user)
    response = client.post("/experiments/model-test/guardrails", posted)
    assert response.status_code == 400
    assert "Only a draft or running experiment" in response.content.decode()
    experiment.refresh_from_db()
    assert experiment.guardrails == list(DEFAULT_GUARDRAILS)


def test_an_archived_guardrail_metric_stays_editable_on_its_experiment(
    admin_client: Client, demo: Any
) -> None:
    d = team_metric_create(data=SEARCH_LATENCY, actor=SYSTEM)
    running_experiment(guardrails=[{"metric": "search-latency", "max": 800.0}])
    team_metric_archive(definition=d, archived=True, actor=SYSTEM)
    page = admin_client.get("/experiments/model-test/guardrails").content.decode()
    assert 'value="search-latency"' in page and 'value="800"' in page
    response = admin_client.post(
        "/experiments/model-test/guardrails", _posted(("search-latency", "900"))
    )
    assert response.status_code == 302
    with pytest.raises(ExperimentError, match="guardrails"):
        running_experiment(key="other", guardrails=[{"metric": "search-latency", "max": 800.0}])


def test_the_demo_has_a_team_metric_its_experiment_reads(demo: Any) -> None:
    experiment = demo_experiment_load(users=200)
    assert experiment.key == DEMO_KEY
    assert "gpt-4o-latency" in experiment.secondary_metrics
    demo_experiment_load(users=200)  # idempotent
    assert MetricDefinition.objects.filter(key="gpt-4o-latency").count() == 1
    result = experiment.results.first()
    assert result is not None
    row = next(r for r in result.data["metrics"] if r["metric"] == "gpt-4o-latency")
    assert row["values"]["v2.0"]["n"] > 0
