from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from flagsite_sdk.backoff import (
    MAX_RETRY_AFTER,
    backoff,
    jittered,
    parse_retry_after,
    retry_delay,
)


def test_jitter_only_shortens_the_interval() -> None:
    assert jittered(10.0, 0.1, rand=lambda: 0.0) == 10.0
    assert jittered(10.0, 0.1, rand=lambda: 1.0) == pytest.approx(9.0)
    assert jittered(10.0, 0.1, rand=lambda: 0.5) == pytest.approx(9.5)
    assert jittered(10.0, 0.0) == 10.0


def test_jitter_spreads_real_random_draws() -> None:
    draws = {round(jittered(1.0, 0.2), 6) for _ in range(200)}
    assert len(draws) > 100
    assert all(0.8 <= d <= 1.0 for d in draws)


@pytest.mark.parametrize(
    ("failures", "low", "high"),
    [
        (1, 1.0, 2.0),
        (2, 2.0, 4.0),
        (3, 4.0, 8.0),
        (5, 16.0, 32.0),
        (6, 30.0, 60.0),
        (50, 30.0, 60.0),
        (10_000, 30.0, 60.0),
    ],
)
def test_backoff_doubles_with_equal_jitter_up_to_the_cap(
    failures: int, low: float, high: float
) -> None:
    assert backoff(failures, base=1.0, cap=60.0, rand=lambda: 0.0) == pytest.approx(low)
    assert backoff(failures, base=1.0, cap=60.0, rand=lambda: 1.0) == pytest.approx(high)


def test_parse_retry_after_seconds() -> None:
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after(" 0 ") == 0.0
    assert parse_retry_after("-5") == 0.0
    assert parse_retry_after("999999") == MAX_RETRY_AFTER


@pytest.mark.parametrize("value", [None, "", "soon", "nan", "Mon, 99 Foo"])
def test_parse_retry_after_ignores_garbage(value: str | None) -> None:
    assert parse_retry_after(value) is None


def test_parse_retry_after_http_date() -> None:
    now = datetime(2026, 11, 25, 12, 0, 0, tzinfo=UTC)
    header = format_datetime(now + timedelta(seconds=30), usegmt=True)
    assert parse_retry_after(header, now=now) == pytest.approx(30.0)
    past = format_datetime(now - timedelta(seconds=30), usegmt=True)
    assert parse_retry_after(past, now=now) == 0.0


def test_retry_delay_never_shorter_than_retry_after() -> None:
    assert retry_delay(1, 1.0, 60.0, retry_after=20.0, rand=lambda: 0.0) == 20.0
    # ... and not shortened by it either.
    assert retry_delay(6, 1.0, 60.0, retry_after=2.0, rand=lambda: 1.0) == 60.0
    assert retry_delay(1, 1.0, 60.0, rand=lambda: 0.5) == pytest.approx(1.5)
