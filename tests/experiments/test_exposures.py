"""Server-side evaluations of a flag under experiment record exposures through the one batched
recorder: nothing written per request; at flush, one Exposure per unit and variant, for the
units the experiment's rule served only."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from delivery import exposures
from delivery.exposures import exposure_unit_sink_set, exposures_flush
from experiments.exposures import experiment_exposures_store
from feedback.models import Exposure
from tests.experiments.builders import running_experiment
from tests.flags.test_api_support import (  # noqa: F401  (autouse fixture)
    CLIENT,
    _fresh_key_cache,
    post_json,
)


@pytest.fixture(autouse=True)
def _experiment_sink() -> Iterator[None]:
    previous = exposures._unit_sink
    exposure_unit_sink_set(experiment_exposures_store)
    yield
    exposure_unit_sink_set(previous)


@pytest.mark.django_db
def test_evaluate_and_ofrep_record_exposures_of_units_in_the_experiment(
    client: Any, demo: Any
) -> None:
    # Given a running experiment on half of the default traffic
    running_experiment(traffic_percentage=50)
    served: dict[str, tuple[str, str]] = {}
    # When 40 users are evaluated twice (evaluate, then OFREP)
    with CaptureQueriesContext(connection) as during:
        for i in range(40):
            user = f"user-{i}"
            body = {"context": {"key": user}, "flags": ["llm-model"]}
            item = post_json(client, "/api/v1/evaluate", body, **CLIENT).json()["flags"]
            served[user] = (item["llm-model"]["variant"], item["llm-model"].get("reason"))
            post_json(
                client,
                "/ofrep/v1/evaluate/flags/llm-model",
                {"context": {"targetingKey": user}},
                **CLIENT,
            )
    # Then no request wrote an exposure
    assert not any("feedback_exposure" in q["sql"] for q in during.captured_queries)
    assert not Exposure.objects.exists()
    # And after a flush each unit in the experiment has one exposure, with its variant
    exposures_flush()
    stored = {e.user_key: e for e in Exposure.objects.filter(experiment_key="model-test")}
    in_experiment = {u for u, (_, reason) in served.items() if reason == "SPLIT"}
    assert stored.keys() == in_experiment
    assert 5 < len(in_experiment) < 35
    assert all(stored[u].variant_key == served[u][0] for u in stored)
    # A second flush of the same units stores nothing new
    for user in list(stored)[:5]:
        post_json(client, "/api/v1/evaluate", {"context": {"key": user}}, **CLIENT)
    exposures_flush()
    assert Exposure.objects.filter(experiment_key="model-test").count() == len(stored)


@pytest.mark.django_db
def test_a_unit_stored_this_hour_is_not_sent_again(demo: Any) -> None:
    # Given a sink that records what each flush hands it
    batches: list[list[Any]] = []

    def sink(units: list[Any]) -> None:
        batches.append(units)
        experiment_exposures_store(units)

    exposure_unit_sink_set(sink)
    env = running_experiment().environment_id
    assigned = [("llm-model", "gpt-4", "model-test")]
    # When the same unit is served in three flush intervals, and a new one in the third
    for units in (["u1"], ["u1"], ["u1", "u2"]):
        for unit in units:
            exposures.exposures_record(env, [("llm-model", "gpt-4")], unit, assigned)
        exposures_flush()
    # Then u1 went to the database once, u2 once; the counts still counted every evaluation
    assert [sorted(u[3] for u in batch) for batch in batches] == [["u1"], ["u2"]]
    assert Exposure.objects.filter(experiment_key="model-test").count() == 2
    # A new hour (or a reset) forgets what was stored: the unit is sent again (ignored on
    # conflict by its event id), so rows deleted meanwhile (retention) would come back.
    exposures._stored_hour -= 1
    exposures.exposures_record(env, [("llm-model", "gpt-4")], "u1", assigned)
    exposures_flush()
    exposures.exposures_record(env, [("llm-model", "gpt-4")], "u1", assigned)
    exposures_flush()
    assert [sorted(u[3] for u in batch) for batch in batches][2:] == [["u1"]]
    assert Exposure.objects.filter(experiment_key="model-test").count() == 2
