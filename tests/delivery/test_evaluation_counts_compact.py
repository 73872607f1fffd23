"""Hourly evaluation counts older than FLAGSITE_EVALUATION_HOURLY_DAYS collapse into one row per
environment, flag and variant: the table stays bounded, totals and "last evaluated" stay exact,
and the usage view's 30 days are untouched."""

from __future__ import annotations

from datetime import UTC, timedelta
from typing import Any

import pytest
from django.db.models import Sum
from django.test import override_settings
from django.utils import timezone

from delivery.counts import MIN_HOURLY_DAYS, evaluation_counts_compact, hourly_cutoff
from delivery.models import EvaluationCount
from feedback.tasks import events_retention_run
from feedback.usage import PERIODS, flag_usage, last_evaluated
from tests.flags.test_views_usage import server_count
from tests.flags.ui_support import setup_flag

pytestmark = pytest.mark.django_db


def _rows(env: Any, flag: str, variant: str) -> list[tuple[Any, int]]:
    rows = EvaluationCount.objects.filter(environment=env, flag_key=flag, variant_key=variant)
    return list(rows.order_by("hour").values_list("hour", "count"))


def test_it_collapses_old_hours_into_one_row_per_key_and_keeps_the_totals() -> None:
    flag, dev, prod = setup_flag()
    now = timezone.now()
    # Given: 3 hourly rows of "on" in dev 40-41 days ago, 2 of "off" 50 days ago, one of "on"
    # in prod 60 days ago, and recent hours (1 and 10 days ago)
    for hours in (0, 5, 20):
        server_count(dev, flag.key, "on", now - timedelta(days=40, hours=hours), 10 + hours)
    for hours in (0, 1):
        server_count(dev, flag.key, "off", now - timedelta(days=50, hours=hours), 7)
    server_count(prod, flag.key, "on", now - timedelta(days=60), 4)
    server_count(dev, flag.key, "on", now - timedelta(days=1), 2)
    server_count(dev, flag.key, "on", now - timedelta(days=10), 3)
    before = EvaluationCount.objects.aggregate(n=Sum("count"))["n"]
    last_before = last_evaluated([flag.key])

    # When
    removed = evaluation_counts_compact(now=now, days=35)

    # Then: 3 -> 1 and 2 -> 1 (a single old row stays as it is), recent hours untouched
    assert removed == 3
    on = _rows(dev, flag.key, "on")
    assert [n for _, n in on] == [10 + 15 + 30, 3, 2]
    assert on[0][0] == (now - timedelta(days=40)).astimezone(UTC).replace(
        minute=0, second=0, microsecond=0
    )  # the latest of the collapsed hours
    assert [n for _, n in _rows(dev, flag.key, "off")] == [14]
    assert [n for _, n in _rows(prod, flag.key, "on")] == [4]
    assert EvaluationCount.objects.aggregate(n=Sum("count"))["n"] == before
    assert last_evaluated([flag.key]) == last_before
    # A second run finds nothing more to do; new old hours merge into the collapsed row.
    assert evaluation_counts_compact(now=now, days=35) == 0
    server_count(dev, flag.key, "on", now - timedelta(days=45), 100)
    assert evaluation_counts_compact(now=now, days=35) == 1
    assert [n for _, n in _rows(dev, flag.key, "on")] == [155, 3, 2]


def test_last_evaluated_in_a_window_still_finds_a_collapsed_row() -> None:
    flag, dev, _ = setup_flag()
    now = timezone.now()
    server_count(dev, flag.key, "on", now - timedelta(days=200), 1)
    server_count(dev, flag.key, "on", now - timedelta(days=40), 1)
    evaluation_counts_compact(now=now, days=35)
    assert EvaluationCount.objects.count() == 1
    # The stale-flag check looks back 90 days: the evaluation 40 days ago is in it.
    found = last_evaluated([flag.key], since=now - timedelta(days=90))
    assert found[(flag.key, dev.id)] == now - timedelta(days=40)
    assert last_evaluated([flag.key], since=now - timedelta(days=30)) == {}


def test_the_usage_view_is_unchanged_by_compaction() -> None:
    flag, dev, _ = setup_flag()
    now = timezone.now()
    for days in (1, 29, 30, 31, 33, 40, 41):
        server_count(dev, flag.key, "on", now - timedelta(days=days), days)
    period = PERIODS["30d"]
    before = flag_usage(flag.key, environment_ids=[dev.id], period=period, now=now)
    evaluation_counts_compact(now=now, days=1)  # below the minimum: 31 days are kept anyway
    after = flag_usage(flag.key, environment_ids=[dev.id], period=period, now=now)
    assert after[dev.id].series == before[dev.id].series
    assert hourly_cutoff(now=now, days=1) <= now - timedelta(days=MIN_HOURLY_DAYS)


@override_settings(FLAGSITE_EVALUATION_HOURLY_DAYS=35)
def test_the_hourly_retention_task_compacts_too() -> None:
    flag, dev, _ = setup_flag()
    now = timezone.now()
    server_count(dev, flag.key, "on", now - timedelta(days=40), 1)
    server_count(dev, flag.key, "on", now - timedelta(days=41), 1)
    assert events_retention_run()["evaluationcount"] == 1
    assert [n for _, n in _rows(dev, flag.key, "on")] == [2]
