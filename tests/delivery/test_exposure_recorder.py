"""The batched exposure recorder: server-side evaluations are counted in memory and flushed in
a bounded number of writes, with exact counts."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from delivery.exposures import (
    exposure_record,
    exposure_unit_sink_set,
    exposures_flush,
    exposures_pending,
    exposures_record,
)
from delivery.models import EvaluationCount
from flags.models import Environment
from tests.flags.test_api_support import (  # noqa: F401  (autouse fixture)
    CLIENT,
    SERVER,
    _fresh_key_cache,
    post_json,
)


def _counts(env_key: str = "development") -> dict[tuple[str, str], int]:
    out: dict[tuple[str, str], int] = {}
    for row in EvaluationCount.objects.filter(environment__key=env_key):
        out[(row.flag_key, row.variant_key)] = out.get((row.flag_key, row.variant_key), 0) + (
            row.count
        )
    return out


def _writes(queries: Any) -> list[str]:
    """Statements that wrote usage counts (the key's throttled last-used stamp is not one)."""
    return [
        q["sql"]
        for q in queries
        if q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE"))
        and "delivery_evaluationcount" in q["sql"]
    ]


@pytest.mark.django_db
def test_many_evaluate_calls_are_counted_exactly_with_bounded_writes(
    client: Any, demo: Any
) -> None:
    # Given 60 evaluate calls for one flag, 60 users: what they were served, counted by hand
    served: Counter[str] = Counter()
    with CaptureQueriesContext(connection) as during:
        for i in range(60):
            body = {"context": {"key": f"user-{i}", "tier": "paid"}, "flags": ["llm-model"]}
            response = post_json(client, "/api/v1/evaluate", body, **CLIENT)
            served[response.json()["flags"]["llm-model"]["variant"]] += 1
    # Then no request wrote a count, and nothing is stored before a flush
    assert _writes(during.captured_queries) == []
    assert exposures_pending() == 60
    assert not EvaluationCount.objects.exists()
    # When the recorder flushes
    with CaptureQueriesContext(connection) as flush:
        buckets = exposures_flush()
    # Then the counts are exact and the flush was one upsert statement
    assert len(_writes(flush.captured_queries)) == 1
    counts = _counts()
    assert sum(counts.values()) == 60
    assert counts == {("llm-model", variant): n for variant, n in served.items()}
    assert buckets == len(counts)
    assert exposures_pending() == 0


@pytest.mark.django_db
def test_flushes_add_to_the_stored_counts(client: Any, demo: Any) -> None:
    env = Environment.objects.get(key="development")
    for _ in range(7):
        exposure_record(env.id, "llm-model", "gpt-4o")
    exposures_flush()
    for _ in range(5):
        exposure_record(env.id, "llm-model", "gpt-4o")
    exposure_record(env.id, "llm-model", None)  # nothing served: not counted
    exposures_flush()
    assert _counts() == {("llm-model", "gpt-4o"): 12}
    row = EvaluationCount.objects.get()
    assert row.hour.minute == 0 and row.hour.second == 0
    assert row.last_at >= row.hour


@pytest.mark.django_db
def test_ofrep_single_and_bulk_are_counted(client: Any, demo: Any) -> None:
    env = Environment.objects.get(key="development")
    flag_count = len(post_json(client, "/ofrep/v1/evaluate/flags", {}, **CLIENT).json()["flags"])
    for _ in range(3):
        response = post_json(
            client,
            "/ofrep/v1/evaluate/flags/llm-model",
            {"context": {"targetingKey": "u1"}},
            **CLIENT,
        )
        assert response.status_code == 200
    post_json(client, "/ofrep/v1/evaluate/flags/nope", {"context": {}}, **CLIENT)  # 404
    exposures_flush()
    counts = _counts()
    llm = sum(n for (flag, _), n in counts.items() if flag == "llm-model")
    assert llm == 1 + 3  # once in the bulk call, three single calls
    assert "nope" not in {flag for flag, _ in counts}
    assert EvaluationCount.objects.filter(environment=env).count() >= 1
    assert sum(counts.values()) <= flag_count + 3


@pytest.mark.django_db
def test_a_registered_unit_sink_gets_each_units_first_exposure_in_an_experiment(
    client: Any, demo: Any
) -> None:
    from delivery import exposures

    received: list[Any] = []
    previous = exposures._unit_sink  # the experiments app's, restored below
    exposure_unit_sink_set(received.extend)
    try:
        env = Environment.objects.get(key="development")
        served = (("llm-model", "gpt-4o"),)
        in_experiment = (("llm-model", "gpt-4o", "model-test"),)
        exposures_record(env.id, served, "u1", in_experiment)
        exposures_record(env.id, served, "u1", in_experiment)
        exposures_record(env.id, served, "u2", in_experiment)
        exposures_record(env.id, served, "u3")  # not served by an experiment: counted only
        exposure_record(env.id, "llm-model", "gpt-4o")  # no unit: counted only
        exposures_flush()
    finally:
        exposure_unit_sink_set(previous)
    assert sorted(r[3] for r in received) == ["u1", "u2"]
    assert {r[5] for r in received} == {"model-test"}
    assert _counts() == {("llm-model", "gpt-4o"): 5}


@pytest.mark.django_db
def test_a_failed_flush_keeps_the_counts(demo: Any, monkeypatch: Any) -> None:
    from delivery import exposures

    env = Environment.objects.get(key="development")
    for _ in range(4):
        exposure_record(env.id, "llm-model", "gpt-4o")

    def broken(rows: int) -> str:
        return "INSERT INTO no_such_table VALUES (1)"

    monkeypatch.setattr(exposures, "_upsert_sql", broken)
    with pytest.raises(Exception):  # noqa: B017  (whatever the driver raises)
        exposures_flush()
    monkeypatch.undo()
    assert exposures_pending() == 4
    exposures_flush()
    assert _counts() == {("llm-model", "gpt-4o"): 4}


@pytest.mark.django_db(transaction=True)
def test_the_background_thread_flushes_once_enough_counts_are_pending(
    demo: Any, settings: Any
) -> None:
    """The real flusher thread (its own database connection), woken by the pending-count
    threshold long before its interval."""
    import threading

    from delivery import exposures

    settings.FLAGSITE_EXPOSURE_FLUSH_SECONDS = 3600
    settings.FLAGSITE_EXPOSURE_FLUSH_MAX_COUNTS = 10
    env = Environment.objects.get(key="development")
    done = threading.Event()
    real_flush = exposures.exposures_flush

    def observed_flush() -> int:
        written = real_flush()
        if written:
            done.set()
        return written

    exposures.exposures_flush = observed_flush  # the loop looks the name up on each round
    try:
        for _ in range(10):
            exposure_record(env.id, "llm-model", "gpt-4o")
        assert exposures._thread is not None and exposures._thread.daemon
        assert done.wait(timeout=30), "the flusher thread did not flush"
    finally:
        exposures.exposures_flush = real_flush
        exposures.exposures_flusher_stop()
    assert _counts() == {("llm-model", "gpt-4o"): 10}
    assert exposures_pending() == 0
