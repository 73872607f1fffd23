"""The one clock: rollout phases, health-gate windows and scheduled changes ask it the time.

`clock.now()` is the wall clock (aware, UTC) plus an offset. Tests move time without sleeping:

    with clock.freeze(dt):            # now() returns dt (and then dt + advances) ...
        clock.advance(timedelta(hours=24))
    clock.advance(timedelta(hours=24))  # outside freeze: shifts the offset of this process

Other processes (a Celery worker, a second web server started by a test) take the same offset
from the `FLAGSITE_CLOCK_OFFSET_SECONDS` environment variable / setting, read on every call so a
process can also be moved by `clock.set_offset()`. The offset is for tests and demos; in
production it is 0 and `now()` is `django.utils.timezone.now()`.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from django.utils import timezone

_lock = threading.Lock()
_frozen: datetime | None = None
_offset: timedelta | None = None  # None: take FLAGSITE_CLOCK_OFFSET_SECONDS


def _configured_offset() -> timedelta:
    raw = os.environ.get("FLAGSITE_CLOCK_OFFSET_SECONDS")
    if raw is None:
        from django.conf import settings

        raw = str(getattr(settings, "FLAGSITE_CLOCK_OFFSET_SECONDS", 0) or 0)
    try:
        return timedelta(seconds=float(raw))
    except ValueError:
        raise ValueError(f"FLAGSITE_CLOCK_OFFSET_SECONDS={raw!r}: expected seconds") from None


def now() -> datetime:
    """The current time (aware, UTC) as every part of flagsite should see it."""
    frozen = _frozen
    if frozen is not None:
        return frozen
    offset = _offset if _offset is not None else _configured_offset()
    return timezone.now() + offset


def offset() -> timedelta:
    """How far this process's clock is from the wall clock (0 in production)."""
    return _offset if _offset is not None else _configured_offset()


def set_offset(value: timedelta | None) -> None:
    """Shift this process's clock (None: back to the configured offset)."""
    global _offset
    with _lock:
        _offset = value


def advance(delta: timedelta) -> datetime:
    """Move time forward: a frozen clock moves to its instant + delta, a running one shifts."""
    global _frozen, _offset
    with _lock:
        if _frozen is not None:
            _frozen = _frozen + delta
        else:
            _offset = (_offset if _offset is not None else _configured_offset()) + delta
    return now()


@contextmanager
def freeze(at: datetime | None = None) -> Iterator[datetime]:
    """Stop the clock at `at` (default: now) for the block; `advance()` moves it. Restores the
    previous state afterwards (freezes nest)."""
    global _frozen
    at = at if at is not None else now()
    if timezone.is_naive(at):
        raise ValueError("clock.freeze needs an aware datetime")
    with _lock:
        previous = _frozen
        _frozen = at
    try:
        yield at
    finally:
        with _lock:
            _frozen = previous


@contextmanager
def shifted(delta: timedelta) -> Iterator[None]:
    """Run the block with this process's clock `delta` ahead, then restore the offset."""
    global _offset
    with _lock:
        previous = _offset
        _offset = offset() + delta
    try:
        yield
    finally:
        with _lock:
            _offset = previous
