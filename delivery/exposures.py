"""The batched exposure recorder: what server-side evaluation served, counted in memory and
written in batches (docs/experiments.md, "Exposures from server-side evaluation").

The hot path (`/api/v1/evaluate`, OFREP single and bulk) calls `exposures_record` once per
request: a dict increment per evaluated flag under a lock, no I/O. A daemon thread per process
flushes the counts every `FLAGSITE_EXPOSURE_FLUSH_SECONDS` (or sooner, once
`FLAGSITE_EXPOSURE_FLUSH_MAX_COUNTS` evaluations are pending), and `atexit` flushes the rest.
A flush is one transaction of multi-row `INSERT ... ON CONFLICT DO UPDATE SET count = count +
excluded.count` statements into `EvaluationCount` (one row per environment, flag, variant and
hour), so the number of writes depends on how many distinct buckets were served, never on the
number of requests. Both PostgreSQL and SQLite (>= 3.24) run the same statement.

Units: every call may name the unit (the context's targeting key). Counting ignores it; a
`unit sink` registered with `exposure_unit_sink_set` receives the distinct (environment, flag,
variant, unit, first time) tuples of each flush. The experiments app registers one to record
assignments (first exposures) of units in running experiments; without a sink, units are not
kept at all, so the usage counts cost nothing per unit.

Losing at most one flush interval of counts when a process is killed (SIGKILL) is accepted:
these are usage figures, not billing.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.db import connection, transaction

from .models import EvaluationCount

log = logging.getLogger(__name__)

Bucket = tuple[int, str, str, int]  # environment id, flag key, variant key, hour (epoch // 3600)
UnitExposure = tuple[int, str, str, str, float]  # environment id, flag, variant, unit, epoch
UnitSink = Callable[[list[UnitExposure]], None]

ROWS_PER_STATEMENT = 150  # 6 parameters a row: under SQLite's oldest 999-parameter limit
MAX_PENDING_BUCKETS = 200_000  # while the database is down, keep at most this many buckets

_lock = threading.Lock()
_counts: dict[Bucket, list[Any]] = {}  # bucket -> [count, latest epoch seconds]
_units: dict[tuple[int, str, str, str], float] = {}
_pending = 0
_unit_sink: UnitSink | None = None
_wake = threading.Event()
_stop = threading.Event()
_thread: threading.Thread | None = None


def exposure_record(
    environment_id: int, flag_key: str, variant: str | None, unit: str | None = None
) -> None:
    """Count one evaluation of `flag_key` that served `variant` (None: nothing served, e.g. an
    unknown flag; not counted)."""
    exposures_record(environment_id, ((flag_key, variant),), unit)


def exposures_record(
    environment_id: int, served: Iterable[tuple[str, str | None]], unit: str | None = None
) -> None:
    """Count the (flag key, variant) pairs one request evaluated for one unit."""
    global _pending
    now = time.time()
    hour = int(now // 3600)
    added = 0
    with _lock:
        for flag_key, variant in served:
            if variant is None:
                continue
            entry = _counts.get((environment_id, flag_key, variant, hour))
            if entry is None:
                _counts[(environment_id, flag_key, variant, hour)] = [1, now]
            else:
                entry[0] += 1
                entry[1] = now
            if unit is not None and _unit_sink is not None:
                _units.setdefault((environment_id, flag_key, variant, unit), now)
            added += 1
        _pending += added
        pending = _pending
    if _thread is None:
        _flusher_start()
    if pending >= settings.FLAGSITE_EXPOSURE_FLUSH_MAX_COUNTS:
        _wake.set()


def exposure_unit_sink_set(sink: UnitSink | None) -> None:
    """Register the receiver of unit exposures (the experiments app), or None to stop keeping
    units. The sink runs on the flushing thread, inside the flush's transaction."""
    global _unit_sink
    with _lock:
        _unit_sink = sink
        if sink is None:
            _units.clear()


def _take() -> tuple[dict[Bucket, list[Any]], dict[tuple[int, str, str, str], float]]:
    global _counts, _units, _pending
    with _lock:
        counts, units = _counts, _units
        _counts, _units, _pending = {}, {}, 0
    return counts, units


def _put_back(counts: dict[Bucket, list[Any]], units: dict[tuple[int, str, str, str], float]):
    """A failed flush returns its counts, so the next one writes them (bounded while the
    database stays down)."""
    global _pending
    with _lock:
        for bucket, (count, last) in counts.items():
            if bucket not in _counts and len(_counts) >= MAX_PENDING_BUCKETS:
                log.warning("exposure recorder: dropping counts, %s buckets pending", len(_counts))
                break
            entry = _counts.setdefault(bucket, [0, last])
            entry[0] += count
            entry[1] = max(entry[1], last)
            _pending += count
        for key, first in units.items():
            _units[key] = min(first, _units.get(key, first))


def _when(epoch: float) -> Any:
    return connection.ops.adapt_datetimefield_value(datetime.fromtimestamp(epoch, tz=UTC))


def _upsert_sql(rows: int) -> str:
    table = connection.ops.quote_name(EvaluationCount._meta.db_table)
    values = ", ".join(["(%s, %s, %s, %s, %s, %s)"] * rows)
    return (
        f"INSERT INTO {table} (environment_id, flag_key, variant_key, hour, count, last_at) "
        f"VALUES {values} ON CONFLICT (environment_id, flag_key, variant_key, hour) DO UPDATE "
        f"SET count = {table}.count + excluded.count, last_at = CASE "
        f"WHEN excluded.last_at > {table}.last_at THEN excluded.last_at "
        f"ELSE {table}.last_at END"
    )


def exposures_flush() -> int:
    """Write the pending counts (and hand units to the sink); returns the buckets written.
    Safe to call from any thread; concurrent flushes each write what they took."""
    counts, units = _take()
    if not counts:
        return 0
    try:
        items = sorted(counts.items())  # one lock order for concurrent flushers
        with transaction.atomic(), connection.cursor() as cursor:
            for start in range(0, len(items), ROWS_PER_STATEMENT):
                chunk = items[start : start + ROWS_PER_STATEMENT]
                params: list[Any] = []
                for (env_id, flag_key, variant, hour), (count, last) in chunk:
                    params += [env_id, flag_key, variant, _when(hour * 3600), count, _when(last)]
                cursor.execute(_upsert_sql(len(chunk)), params)
            sink = _unit_sink
            if units and sink is not None:
                sink([(*key, first) for key, first in units.items()])
    except Exception:
        log.exception("exposure recorder: flush failed; counts kept for the next one")
        _put_back(counts, units)
        raise
    return len(counts)


def exposures_pending() -> int:
    """Evaluations counted but not flushed yet."""
    return _pending


def exposures_reset() -> None:
    """Forget pending counts and units (tests, and a forked child's copy of its parent's)."""
    global _counts, _units, _pending
    with _lock:
        _counts, _units, _pending = {}, {}, 0


def _flusher_loop(stop: threading.Event) -> None:
    from django.db import close_old_connections

    while not stop.is_set():
        interval = settings.FLAGSITE_EXPOSURE_FLUSH_SECONDS
        if interval <= 0:  # switched off at run time
            break
        _wake.wait(interval)
        _wake.clear()
        try:
            exposures_flush()
        except Exception:  # already logged; the counts wait for the next round
            pass
        finally:
            close_old_connections()


def exposures_flusher_stop() -> None:
    """Stop this process's flushing thread (tests); the next record starts a new one."""
    global _thread
    with _lock:
        thread, _thread = _thread, None
    if thread is not None:
        _stop.set()
        _wake.set()
        thread.join(timeout=10)


def _flusher_start() -> None:
    """Start this process's flushing thread once (not when the interval setting is 0: tests
    and scripts then call `exposures_flush` themselves)."""
    global _thread, _stop
    with _lock:
        if _thread is not None or settings.FLAGSITE_EXPOSURE_FLUSH_SECONDS <= 0:
            return
        _stop = threading.Event()
        _thread = threading.Thread(
            target=_flusher_loop, args=(_stop,), name="exposure-flusher", daemon=True
        )
        _thread.start()


def _flush_at_exit() -> None:
    with contextlib.suppress(Exception):  # logged; nothing more to do at exit
        exposures_flush()


def _after_fork_in_child() -> None:
    """A forked worker starts with its own empty counts and its own thread (threads do not
    survive fork; the parent flushes what it counted)."""
    global _lock, _thread, _wake
    _lock = threading.Lock()
    _wake = threading.Event()
    _thread = None
    exposures_reset()


atexit.register(_flush_at_exit)
os.register_at_fork(after_in_child=_after_fork_in_child)
