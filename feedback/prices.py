"""Model prices and the cost of an LLM call.

A call costs `(prompt_tokens - cached_input_tokens) * input + cached_input_tokens * cached_input +
completion_tokens * output` (prices per million tokens) at the price in force at the call's
timestamp: the ModelPrice row for that model with the latest `effective_from` not after the
timestamp. A price without a cached-input price bills cached tokens at the input price. Model
names match exactly.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from django.db import transaction

from .models import ModelPrice

MILLION = Decimal(1_000_000)
# Keep ten decimal places: the cost column's precision.
COST_QUANTUM = Decimal("0.0000000001")

# Published list prices (USD per million tokens: input, output, cached input) for the demo
# installation only; stored with is_example=True and shown as examples.
DEMO_PRICES = [
    ("gpt-4", Decimal("30"), Decimal("60"), None, datetime(2023, 3, 14, tzinfo=UTC)),
    ("gpt-4-turbo", Decimal("10"), Decimal("30"), None, datetime(2023, 11, 6, tzinfo=UTC)),
    ("gpt-4o", Decimal("2.5"), Decimal("10"), Decimal("1.25"), datetime(2024, 10, 1, tzinfo=UTC)),
    (
        "gpt-4o-mini",
        Decimal("0.15"),
        Decimal("0.6"),
        Decimal("0.075"),
        datetime(2024, 10, 1, tzinfo=UTC),
    ),
]


@dataclass(frozen=True)
class Price:
    input_per_million: Decimal
    output_per_million: Decimal
    cached_input_per_million: Decimal | None = None

    @property
    def cached_input(self) -> Decimal:
        """What a cached prompt token costs per million (the input price when none is set)."""
        if self.cached_input_per_million is None:
            return self.input_per_million
        return self.cached_input_per_million

    def cost(
        self, *, prompt_tokens: int, completion_tokens: int, cached_input_tokens: int = 0
    ) -> Decimal:
        cached = min(cached_input_tokens, prompt_tokens)
        total = (
            (prompt_tokens - cached) * self.input_per_million
            + cached * self.cached_input
            + completion_tokens * self.output_per_million
        ) / MILLION
        return total.quantize(COST_QUANTUM)


class PriceBook:
    """Prices for a set of models, loaded once per ingested batch (one query)."""

    def __init__(self, rows: Iterable[ModelPrice]) -> None:
        self._starts: dict[str, list[datetime]] = {}
        self._prices: dict[str, list[Price]] = {}
        for row in sorted(rows, key=lambda r: (r.model, r.effective_from)):
            self._starts.setdefault(row.model, []).append(row.effective_from)
            self._prices.setdefault(row.model, []).append(
                Price(row.input_per_million, row.output_per_million, row.cached_input_per_million)
            )

    def price_at(self, model: str, when: datetime) -> Price | None:
        starts = self._starts.get(model)
        if not starts:
            return None
        index = bisect.bisect_right(starts, when) - 1
        return self._prices[model][index] if index >= 0 else None

    def cost(
        self,
        *,
        model: str,
        when: datetime,
        prompt_tokens: int,
        completion_tokens: int,
        cached_input_tokens: int = 0,
    ) -> Decimal | None:
        price = self.price_at(model, when)
        if price is None:
            return None
        return price.cost(
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            cached_input_tokens=cached_input_tokens,
        )


def price_book_load(models: Iterable[str]) -> PriceBook:
    names = set(models)
    if not names:
        return PriceBook([])
    return PriceBook(ModelPrice.objects.filter(model__in=names))


def llm_call_cost(
    *,
    model: str,
    when: datetime,
    prompt_tokens: int,
    completion_tokens: int,
    cached_input_tokens: int = 0,
) -> Decimal | None:
    """The cost of one call (what ingestion stores), or None when the model has no price then."""
    return price_book_load([model]).cost(
        model=model,
        when=when,
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        cached_input_tokens=cached_input_tokens,
    )


def model_price_save(
    *,
    model: str,
    input_per_million: Decimal,
    output_per_million: Decimal,
    effective_from: datetime,
    cached_input_per_million: Decimal | None = None,
    price: ModelPrice | None = None,
) -> ModelPrice:
    """Create a price (or change `price`). Affects calls ingested from now on, not stored costs.
    A price a person saves is theirs, no longer an example."""
    row = price or ModelPrice()
    row.model = model.strip()
    row.input_per_million = input_per_million
    row.output_per_million = output_per_million
    row.cached_input_per_million = cached_input_per_million
    row.effective_from = effective_from
    row.is_example = False
    row.full_clean()
    row.save()
    return row


@transaction.atomic
def model_prices_load_demo() -> int:
    """Seed example list prices (DEMO_PRICES, idempotent). `flags.demo` calls this."""
    created = 0
    for model, inp, out, cached, since in DEMO_PRICES:
        _, was_created = ModelPrice.objects.get_or_create(
            model=model,
            effective_from=since,
            defaults={
                "input_per_million": inp,
                "output_per_million": out,
                "cached_input_per_million": cached,
                "is_example": True,
            },
        )
        created += int(was_created)
    return created
