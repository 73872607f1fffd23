"""The batched exposure recorder: what server-side evaluation served, counted in memory and
written in batches (docs/experiments.md, "Exposures from server-side evaluation").

The hot path (`/api/v1/evaluate`, OFREP single and bulk) calls `exposures_record` once per
request: a dict increment per evaluated flag under a lock, no I/O. A daemon thread per process
flushes the counts every `FLAGSITE_EXPOSURE_FLUSH_SECONDS` (or sooner, once
`FLAGSITE_EXPOSURE_FLUSH_MAX_COUNTS` recorded requests are pending), and `atexit` flushes the rest.
A flush is one transaction of multi-row `INSERT ... ON CONFLICT DO UPDATE SET count = count +
excluded.count` statements into `EvaluationCount` (one row per environment, flag, variant and
hour), so the number of writes depends on how many distinct buckets were served, never on the
number of requests. Both PostgreSQL and SQLite (>= 3.24) run the same statement.

Units: every call may name the unit (the context's targeting key) and list the evaluations an
experiment's rule served (`assigned`: (flag, variant, experiment key)). Counting ignores both; a
`unit sink` registered with `exposure_unit_sink_set` receives the distinct (environment, flag,
variant, unit, first time, experiment key) tuples of each flush. The experiments app registers
one to record exposures of units in running experiments; without a sink, or outside
experiments, units are not kept at all, so the usage counts cost nothing per unit.

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
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.db import connection, transaction

from .models import EvaluationCount

log = logging.getLogger(__name__)

Bucket = tuple[int, str, str, int]  # environment id, flag key, variant key, hour (epoch // 3600)
# environment id, flag, variant, unit, epoch of the first exposure, experiment key
UnitExposure = tuple[int, str, str, str, float, str]
UnitSink = Callable[[list[UnitExposure]], None]

ROWS_PER_STATEMENT = 150  # 6 parameters a row: under SQLite's oldest 999-parameter limit
MAX_PENDING_BUCKETS = 200_000  # while the database is down, keep at most this many buckets

_lock = threading.Lock()
# (environment id, hour) -> [Counter of (flag key, variant), latest epoch seconds]. Counting a
# request is one C-level Counter.update over its pairs: no Python loop per flag on the hot path.
_slots: dict[tuple[int, int], list[Any]] = {}
_units: dict[tuple[int, str, str, str, str], float] = {}
# The unit exposures this process stored in the current hour: not sent again (their first
# exposure is in the table; a later one would be ignored on conflict anyway). Without it every
# flush re-sent each active unit, and building thousands of rows on the flushing thread held
# the GIL long enough to stall the request threads (p99 60-90 ms, docs/benchmarks.md).
# Forgotten every hour (retention may delete old rows) and when it reaches MAX_STORED_UNITS.
# It holds the keys' hashes (about 60 bytes each, 6 MB at the cap): a collision (2^-64) would
# only skip re-sending an exposure already stored under the other key.
_stored: set[int] = set()
_stored_hour = 0
MAX_STORED_UNITS = 100_000
_calls = 0  # record calls since the last flush (the early-flush threshold counts these)
_unit_sink: UnitSink | None = None
_wake = threading.Event()
_stop = threading.Event()
_thread: threading.Thread | None = None
_started = False  # settings read and the thread started (or not wanted) in this process
_max_calls = 10_000  # FLAGSITE_EXPOSURE_FLUSH_MAX_COUNTS, read once


def exposure_record(
    environment_id: int, flag_key: str, variant: str | None, unit: str | None = None
) -> None:
    """Count one evaluation of `flag_key` that served `variant` (None: nothing served, e.g. an
    unknown flag; not counted)."""
    exposures_record(environment_id, ((flag_key, variant),), unit)


def exposures_record(
    environment_id: int,
    served: Iterable[tuple[str, str | None]],
    unit: str | None = None,
    assigned: Iterable[tuple[str, str, str]] = (),
) -> None:
    """Count the (flag key, variant) pairs one request evaluated for one unit. Pairs whose
    variant is None are dropped at flush time. `assigned`: the (flag, variant, experiment key)
    of evaluations an experiment's rule served; the unit is kept for those."""
    global _calls
    now = time.time()
    slot_key = (environment_id, int(now // 3600))
    with _lock:
        slot = _slots.get(slot_key)
        if slot is None:
            slot = _slots[slot_key] = [Counter(), now]
        if unit is not None and _unit_sink is not None:
            if slot_key[1] != _stored_hour:
                _stored_forget(slot_key[1])
            for flag_key, variant, experiment in assigned:
                key = (environment_id, flag_key, variant, unit, experiment)
                if hash(key) not in _stored:
                    _units.setdefault(key, now)
        slot[0].update(served)
        slot[1] = now
        _calls += 1
        calls = _calls
    if not _started:
        _flusher_start()
    if calls >= _max_calls:
        _wake.set()


def exposure_unit_sink_set(sink: UnitSink | None) -> None:
    """Register the receiver of unit exposures (the experiments app), or None to stop keeping
    units. The sink runs on the flushing thread, inside the flush's transaction."""
    global _unit_sink
    with _lock:
        _unit_sink = sink
        if sink is None:
            _units.clear()


def _flatten(slots: dict[tuple[int, int], list[Any]]) -> dict[Bucket, list[Any]]:
    """{(env, flag, variant, hour): [count, latest]}. `latest` is the slot's latest record
    time: exact for the newest flag of a flush, at most one flush interval late for others."""
    out: dict[Bucket, list[Any]] = {}
    for (env_id, hour), (counter, last) in slots.items():
        for (flag_key, variant), n in counter.items():
            if variant is not None and n:
                out[(env_id, flag_key, variant, hour)] = [n, last]
    return out


def _take() -> tuple[dict[Bucket, list[Any]], dict[tuple[int, str, str, str, str], float]]:
    global _slots, _units, _calls
    with _lock:
        slots, units = _slots, _units
        _slots, _units, _calls = {}, {}, 0
    return _flatten(slots), units


def _put_back(
    counts: dict[Bucket, list[Any]], units: dict[tuple[int, str, str, str, str], float]
) -> None:
    """A failed flush returns its counts, so the next one writes them (bounded while the
    database stays down)."""
    with _lock:
        kept = sum(len(slot[0]) for slot in _slots.values())
        for (env_id, flag_key, variant, hour), (count, last) in counts.items():
            if kept >= MAX_PENDING_BUCKETS:
                log.warning("exposure recorder: dropping counts, %s buckets pending", kept)
                break
            slot = _slots.setdefault((env_id, hour), [Counter(), last])
            slot[0][(flag_key, variant)] += count
            slot[1] = max(slot[1], last)
            kept += 1
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
                sink([(e, f, v, u, first, x) for (e, f, v, u, x), first in units.items()])
    except Exception:
        log.exception("exposure recorder: flush failed; counts kept for the next one")
        _put_back(counts, units)
        raise
    if units:
        _remember_stored(units)
    return len(counts)


def _stored_forget(hour: int) -> None:
    """Start the set of stored units afresh for `hour` (under `_lock`)."""
    global _stored_hour
    _stored.clear()
    _stored_hour = hour


def _remember_stored(units: Iterable[tuple[int, str, str, str, str]]) -> None:
    hour = int(time.time() // 3600)
    with _lock:
        if hour != _stored_hour or len(_stored) >= MAX_STORED_UNITS:
            _stored_forget(hour)
        _stored.update(map(hash, units))


def exposures_pending() -> int:
    """Evaluations counted but not flushed yet."""
    with _lock:
        return sum(n for slot in _slots.values() for (_, variant), n in slot[0].items() if variant)


def exposures_reset() -> None:
    """Forget pending counts and units, and the units stored (tests, and a forked child's
    copy of its parent's)."""
    global _slots, _units, _calls
    with _lock:
        _slots, _units, _calls = {}, {}, 0
        _stored.clear()


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
    """Stop this process's flushing thread (tests); the next record reads the settings again
    and starts a new one."""
    global _thread, _started
    with _lock:
        thread, _thread, _started = _thread, None, False
    if thread is not None:
        _stop.set()
        _wake.set()
        thread.join(timeout=10)


def _flusher_start() -> None:
    """Start this process's flushing thread once (not when the interval setting is 0: tests
    and scripts then call `exposures_flush` themselves)."""
    global _thread, _stop, _started, _max_calls
    with _lock:
        if _started:
            return
        _started = True
        _max_calls = max(1, int(settings.FLAGSITE_EXPOSURE_FLUSH_MAX_COUNTS))
        if settings.FLAGSITE_EXPOSURE_FLUSH_SECONDS <= 0:
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
    global _lock, _thread, _wake, _started
    _lock = threading.Lock()
    _wake = threading.Event()
    _thread, _started = None, False
    exposures_reset()


atexit.register(_flush_at_exit)
os.register_at_fork(after_in_child=_after_fork_in_child)
