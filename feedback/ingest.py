"""Ingestion: validated events go to the database in bulk, once each.

Idempotency: each table has a unique constraint on (environment, event_id) and rows go in with
`bulk_create(ignore_conflicts=True)` (`ON CONFLICT DO NOTHING` on PostgreSQL, `INSERT OR IGNORE`
on SQLite); the statements' row counts say how many rows were new, so the answer tells
accepted from duplicate events exactly, even under concurrent retries.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import OperationalError, connections, models, transaction
from django.utils import timezone

from flagsite.storable import text_unstorable
from releases.triggers import rollout_check_soon

from .models import Feedback, LlmCall
from .prices import price_book_load
from .validation import Invalid, event_clean, feedback_clean

MAX_EVENTS = 1_000
MAX_EVENTS_BYTES = 1024 * 1024
MAX_FEEDBACK_BYTES = 64 * 1024
BATCH_SIZE = 1_000
DEADLOCK_RETRIES = 2


@dataclass
class IngestResult:
    accepted: int = 0
    duplicates: int = 0
    rejected: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {"accepted": self.accepted, "duplicates": self.duplicates, "rejected": self.rejected}


class _InsertedRows:
    """Database instrumentation (`connection.execute_wrapper`): adds up the row counts of the
    INSERT statements bulk_create runs. With ON CONFLICT DO NOTHING / INSERT OR IGNORE a
    statement's row count is the number of rows it added; skipped conflicts are not counted."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        result = execute(sql, params, many, context)
        if sql.lstrip()[:6].upper() == "INSERT":
            self.count += max(context["cursor"].rowcount, 0)
        return result


def rows_insert(model: type[models.Model], rows: list[Any]) -> int:
    """Insert rows (unsaved instances of `model`), skipping ids already stored; returns how
    many were new. Exact under concurrent retries too: PostgreSQL makes the second insert of an
    id wait for the first transaction, then skip it."""
    if not rows:
        return 0
    manager = model._default_manager
    counter = _InsertedRows()
    with connections[manager.db].execute_wrapper(counter):
        manager.bulk_create(rows, ignore_conflicts=True, batch_size=BATCH_SIZE)
    return counter.count


def llm_calls_price(rows: list[LlmCall]) -> None:
    """Set each unsaved call's cost_usd from the price in force at its timestamp."""
    book = price_book_load(row.model for row in rows)
    for row in rows:
        row.cost_usd = book.cost(
            model=row.model,
            when=row.timestamp,
            prompt_tokens=row.prompt_tokens,
            completion_tokens=row.completion_tokens,
            cached_input_tokens=row.cached_input_tokens,
        )


def events_ingest(
    *, environment_id: int, events: list[Any], now: datetime | None = None
) -> IngestResult:
    """Store a batch of exposure / llm_call / implicit events (docs/events.md).

    Good events are stored even when others are rejected; a repeated id of the same type
    (earlier or within this batch) counts as a duplicate. Ids are unique per environment and
    type (each type's table has that unique constraint), so an exposure and an llm_call with
    the same id are two events, in one batch or in two (docs/events.md). The caller enforces
    the size limits.
    """
    now = now or timezone.now()
    result = IngestResult()
    by_model: dict[type[models.Model], list[Any]] = {}
    seen: set[tuple[type[models.Model], str]] = set()
    for index, raw in enumerate(events):
        try:
            model, fields = event_clean(raw, now)
        except Invalid as exc:
            event_id = raw.get("id") if isinstance(raw, dict) else None
            result.rejected.append(
                {
                    "index": index,
                    # Echo the id only when it can be encoded back to the client.
                    "id": event_id
                    if isinstance(event_id, str) and text_unstorable(event_id) is None
                    else None,
                    "errors": exc.errors,
                }
            )
            continue
        if (model, fields["event_id"]) in seen:
            result.duplicates += 1
            continue
        seen.add((model, fields["event_id"]))
        by_model.setdefault(model, []).append(
            model(environment_id=environment_id, received_at=now, **fields)
        )
    if LlmCall in by_model:
        llm_calls_price(by_model[LlmCall])
    # One lock order for every request (tables by name, rows by id): concurrent batches that
    # share ids then wait for each other instead of deadlocking.
    batches = sorted(by_model.items(), key=lambda item: item[0].__name__)
    for _, rows in batches:
        rows.sort(key=lambda row: row.event_id)
    new_total = _insert_all(batches)
    if new_total:
        # A flag under rollout is checked right after its telemetry arrives (debounced).
        rollout_check_soon(environment_id)
    stored = sum(len(rows) for _, rows in batches)
    result.accepted += new_total
    result.duplicates += stored - new_total
    return result


def _insert_all(batches: list[tuple[type[models.Model], list[Any]]]) -> int:
    for attempt in range(DEADLOCK_RETRIES + 1):
        try:
            with transaction.atomic():
                return sum(rows_insert(model, rows) for model, rows in batches)
        except OperationalError as exc:
            # Safety net: the whole batch is idempotent, so running it again is harmless.
            if attempt == DEADLOCK_RETRIES or "deadlock" not in str(exc).lower():
                raise
            time.sleep(0.01 * (attempt + 1))
    raise AssertionError("unreachable")


def feedback_ingest(
    *, environment_id: int, payload: Any, now: datetime | None = None
) -> tuple[str, bool]:
    """Store one piece of explicit feedback. Returns (id, stored); stored is False for a retry
    of an id already stored. Raises `Invalid` naming the bad fields."""
    now = now or timezone.now()
    fields = feedback_clean(payload, now)
    row = Feedback(environment_id=environment_id, received_at=now, **fields)
    with transaction.atomic():
        new = rows_insert(Feedback, [row])
    if new:
        rollout_check_soon(environment_id)
    return row.event_id, bool(new)
