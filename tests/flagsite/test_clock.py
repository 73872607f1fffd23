"""The one clock: frozen and shifted in tests, offset for other processes by the setting."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone

from flagsite import clock

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def test_it_follows_the_wall_clock_by_default() -> None:
    before = timezone.now()
    assert before <= clock.now() <= timezone.now() + timedelta(seconds=1)


def test_freeze_stops_it_and_advance_moves_it() -> None:
    with clock.freeze(T0):
        assert clock.now() == T0
        clock.advance(timedelta(hours=24))
        assert clock.now() == T0 + timedelta(hours=24)
    assert abs(clock.now() - timezone.now()) < timedelta(seconds=5)


def test_freezes_nest() -> None:
    with clock.freeze(T0):
        with clock.freeze(T0 + timedelta(days=3)):
            assert clock.now() == T0 + timedelta(days=3)
        assert clock.now() == T0


def test_freeze_refuses_a_naive_datetime() -> None:
    with pytest.raises(ValueError), clock.freeze(datetime(2026, 1, 1)):
        pass


def test_shifted_runs_ahead_then_restores() -> None:
    with clock.shifted(timedelta(hours=48)):
        assert clock.now() - timezone.now() > timedelta(hours=47)
    assert abs(clock.now() - timezone.now()) < timedelta(seconds=5)


def test_advance_outside_freeze_shifts_the_offset() -> None:
    try:
        clock.advance(timedelta(hours=2))
        assert clock.offset() == timedelta(hours=2)
    finally:
        clock.set_offset(None)
    assert clock.offset() == timedelta(0)


def test_another_process_takes_the_offset_from_the_environment(monkeypatch: Any) -> None:
    code = (
        "import django; django.setup();"
        "from django.utils import timezone; from flagsite import clock;"
        "print((clock.now() - timezone.now()).total_seconds())"
    )
    monkeypatch.setenv("FLAGSITE_CLOCK_OFFSET_SECONDS", "86400")
    monkeypatch.setenv("DJANGO_SETTINGS_MODULE", "flagsite.settings")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert 86399 < float(out.stdout.strip()) < 86401
