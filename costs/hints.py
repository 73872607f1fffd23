"""Cost-saving hints: facts computed from the period's calls, each with its numbers
(docs/costs.md, "Hints"). Nothing here guesses; every figure is an aggregate over stored calls
and the price table.

- **Share of spend by model**: each model's cost / the period's cost.
- **Repeated prompts**: calls carrying a `prompt_hash` that occurs more than once in the period.
  A response cache would have answered every call of a hash but one; keeping the most expensive
  one, it would have saved at least SUM(cost) - MAX(cost) per hash (a lower bound, in SQL).
- **Short queries on an expensive model**: calls with prompt_tokens <= SHORT_PROMPT_TOKENS and
  completion_tokens <= SHORT_COMPLETION_TOKENS sent to a model whose price today is at least
  EXPENSIVE_FACTOR times the cheapest model used in the period (by the cost of those same
  tokens). Their tokens are summed in SQL and priced at today's price of the cheaper model.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db.models import Count, F, Max, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce

from feedback.models import LlmCall
from feedback.prices import Price, price_book_load

from .spend import ZERO

SHORT_PROMPT_TOKENS = 500
SHORT_COMPLETION_TOKENS = 300
EXPENSIVE_FACTOR = Decimal(3)
MIN_SAVING_USD = Decimal("0.01")


@dataclass(frozen=True)
class ModelShare:
    model: str
    cost: Decimal
    share: float


def model_shares(calls: QuerySet[LlmCall]) -> list[ModelShare]:
    rows = list(
        calls.values("model").annotate(cost=Coalesce(Sum("cost_usd"), Value(ZERO))).order_by()
    )
    total = sum((Decimal(r["cost"]) for r in rows), ZERO)
    out = [
        ModelShare(
            r["model"], Decimal(r["cost"]), float(Decimal(r["cost"]) / total) if total else 0.0
        )
        for r in rows
    ]
    return sorted(out, key=lambda m: (-m.cost, m.model))


@dataclass(frozen=True)
class RepeatedPrompts:
    prompts: int  # distinct hashes seen more than once
    calls: int  # calls carrying those hashes
    repeats: int  # calls a cache would have answered (calls - prompts)
    cost: Decimal  # what those hashes' calls cost
    saving: Decimal  # at least this much


def repeated_prompts(calls: QuerySet[LlmCall]) -> RepeatedPrompts:
    per_hash = (
        calls.exclude(prompt_hash="")
        .values("prompt_hash")
        .annotate(
            n=Count("id"),
            total=Coalesce(Sum("cost_usd"), Value(ZERO)),
            top=Coalesce(Max("cost_usd"), Value(ZERO)),
        )
        .filter(n__gt=1)
        .order_by()
    )
    # Aggregating over the grouped rows: Django wraps them in a subquery, still one SQL query.
    row = per_hash.aggregate(
        prompts=Count("prompt_hash"),
        calls=Coalesce(Sum("n"), 0),
        cost=Coalesce(Sum("total"), Value(ZERO)),
        saving=Coalesce(Sum(F("total") - F("top")), Value(ZERO)),
    )
    prompts, n = int(row["prompts"] or 0), int(row["calls"] or 0)
    return RepeatedPrompts(prompts, n, n - prompts, Decimal(row["cost"]), Decimal(row["saving"]))


@dataclass(frozen=True)
class RoutingHint:
    model: str  # the expensive model
    cheaper_model: str
    calls: int
    cost: Decimal  # what the short calls cost (as stored)
    cost_on_cheaper: Decimal  # the same tokens at the cheaper model's price today

    @property
    def saving(self) -> Decimal:
        return self.cost - self.cost_on_cheaper


def _tokens_cost(price: Price, prompt: int, cached: int, completion: int) -> Decimal:
    return price.cost(
        prompt_tokens=prompt, completion_tokens=completion, cached_input_tokens=cached
    )


def short_query_routing(calls: QuerySet[LlmCall], *, now: datetime) -> list[RoutingHint]:
    short = Q(
        prompt_tokens__lte=SHORT_PROMPT_TOKENS, completion_tokens__lte=SHORT_COMPLETION_TOKENS
    )
    rows = list(
        calls.filter(short, error=False)
        .values("model")
        .annotate(
            n=Count("id"),
            cost=Coalesce(Sum("cost_usd"), Value(ZERO)),
            prompt=Coalesce(Sum("prompt_tokens"), 0),
            cached=Coalesce(Sum("cached_input_tokens"), 0),
            completion=Coalesce(Sum("completion_tokens"), 0),
        )
        .order_by()
    )
    in_use = list(calls.values_list("model", flat=True).distinct().order_by())
    book = price_book_load(in_use)
    today = {m: p for m in in_use if (p := book.price_at(m, now)) is not None}
    hints: list[RoutingHint] = []
    for r in rows:
        price = today.get(r["model"])
        if price is None or not r["n"]:
            continue
        tokens = (r["prompt"], r["cached"], r["completion"])
        here = _tokens_cost(price, *tokens)
        cheapest = min(
            ((m, _tokens_cost(p, *tokens)) for m, p in today.items() if m != r["model"]),
            key=lambda item: (item[1], item[0]),
            default=None,
        )
        if cheapest is None or cheapest[1] * EXPENSIVE_FACTOR > here:
            continue
        hint = RoutingHint(r["model"], cheapest[0], r["n"], Decimal(r["cost"]), cheapest[1])
        if hint.saving >= MIN_SAVING_USD:
            hints.append(hint)
    return sorted(hints, key=lambda h: -h.saving)
