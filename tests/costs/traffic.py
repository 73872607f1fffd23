"""Simulated LLM traffic with known totals: small builders that write `LlmCall` rows directly
(bulk, with the cost already set, as ingestion would have stored it)."""

from __future__ import annotations

import math
import random
from datetime import datetime, timedelta
from decimal import Decimal
from itertools import count
from typing import Any

from feedback.models import LlmCall
from flags.models import Environment

_ids = count()


def call(
    env: Environment, when: datetime, cost: str | Decimal | None = "0.01", **fields: Any
) -> LlmCall:
    """One unsaved call; `cost` in USD (None: a model without a price)."""
    return LlmCall(
        environment=env,
        event_id=f"sim-{next(_ids)}",
        timestamp=when,
        received_at=when,
        model=fields.pop("model", "gpt-4o"),
        cost_usd=None if cost is None else Decimal(cost),
        **fields,
    )


def store(rows: list[LlmCall]) -> list[LlmCall]:
    return LlmCall.objects.bulk_create(rows, batch_size=1000)


def hourly_mean_usd(hour: int) -> float:
    """Daily seasonality: quiet at night ($0.50/h at 03:00 UTC), busy in the afternoon
    ($3.50/h at 15:00 UTC)."""
    return 2.0 - 1.5 * math.cos(2 * math.pi * (hour - 3) / 24)


def seasonal_traffic(
    env: Environment, *, until: datetime, days: int, seed: int = 7, calls_per_hour: int = 4
) -> Decimal:
    """`days` days of calls before `until`, each hour's spend around `hourly_mean_usd` with
    +-20 % noise, spread over `calls_per_hour` calls at random minutes. Returns the total."""
    rng = random.Random(seed)
    rows: list[LlmCall] = []
    start = (until - timedelta(days=days)).replace(minute=0, second=0, microsecond=0)
    hour = start
    while hour < until:
        spend = hourly_mean_usd(hour.hour) * rng.uniform(0.8, 1.2)
        for _ in range(calls_per_hour):
            when = hour + timedelta(seconds=rng.uniform(0, 3600))
            if when < until:
                cost = Decimal(str(round(spend / calls_per_hour, 6)))
                rows.append(call(env, when, cost, prompt_tokens=800, completion_tokens=200))
        hour += timedelta(hours=1)
    store(rows)
    return sum((r.cost_usd or Decimal(0) for r in rows), Decimal(0))
