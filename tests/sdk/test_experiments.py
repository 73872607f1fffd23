"""The SDK in experiments: an evaluation served by an experiment's rule is an exposure in that
experiment; scores are reported with track_score."""

from __future__ import annotations

import copy

from flagsite_sdk.testing import TestClient

from tests.sdk.builders import sample_ruleset


def _with_experiment() -> dict:
    ruleset = copy.deepcopy(sample_ruleset())
    flag = ruleset["flags"]["llm-model"]
    flag["rules"] = [
        {
            "id": "experiment:model-test",
            "clauses": [],
            "rollout": {"percentage": 100, "bucket_by": "key"},
            "serve": {
                "split": [
                    {"variant": flag["variants"][0]["key"], "weight": 50},
                    {"variant": flag["variants"][1]["key"], "weight": 50},
                ],
                "bucket_by": "key",
                "salt": "exp-salt",
            },
        }
    ]
    return ruleset


def test_an_evaluation_served_by_an_experiment_rule_is_an_exposure_in_it() -> None:
    flags = TestClient(ruleset=_with_experiment())
    for user in ("alice", "bob", "carol"):
        flags.variation("llm-model", {"key": user}, "x")
    exposures = flags.events_of("exposure")
    assert len(exposures) == 3
    assert {e["experiment"] for e in exposures} == {"model-test"}


def test_exposures_outside_experiments_name_none() -> None:
    flags = TestClient(ruleset=sample_ruleset())
    flags.variation("llm-model", {"key": "alice"}, "x")
    assert "experiment" not in flags.events_of("exposure")[0]


def test_track_score_reports_a_score_event() -> None:
    flags = TestClient()
    event_id = flags.track_score(
        name="hallucination", value=1.0, source="llm-judge", request_id="r1", user_key="u1"
    )
    (event,) = flags.events_of("score")
    assert event["id"] == event_id
    assert (
        event
        | {
            "type": "score",
            "name": "hallucination",
            "value": 1.0,
            "source": "llm-judge",
            "request_id": "r1",
            "user_key": "u1",
        }
        == event
    )
