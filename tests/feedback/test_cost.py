"""Cost of LLM calls from the price in force at the call's time, against hand-computed figures."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from feedback.models import LlmCall, ModelPrice
from feedback.prices import PriceBook, llm_call_cost, model_price_save, model_prices_load_demo

from .conftest import EVENTS_URL, Keys, llm_call, post_json

pytestmark = pytest.mark.django_db

JAN = datetime(2026, 1, 1, tzinfo=UTC)


def _price(model: str, inp: str, out: str, since: datetime) -> ModelPrice:
    return model_price_save(
        model=model,
        input_per_million=Decimal(inp),
        output_per_million=Decimal(out),
        effective_from=since,
    )


def test_cost_by_hand() -> None:
    _price("gpt-4", "30", "60", JAN)
    # 1,000 prompt tokens at $30/M = $0.03; 500 completion tokens at $60/M = $0.03.
    cost = llm_call_cost(
        model="gpt-4", when=JAN + timedelta(days=1), prompt_tokens=1000, completion_tokens=500
    )
    assert cost == Decimal("0.06")
    # 1 token each: 30e-6 + 60e-6 = 0.00009; odd counts keep every digit.
    assert llm_call_cost(model="gpt-4", when=JAN, prompt_tokens=1, completion_tokens=1) == Decimal(
        "0.00009"
    )
    assert llm_call_cost(
        model="gpt-4", when=JAN, prompt_tokens=1234, completion_tokens=567
    ) == Decimal("0.07104")  # 0.03702 + 0.03402


def test_the_price_in_force_at_the_call_time_applies() -> None:
    _price("gpt-4-turbo", "10", "30", JAN)
    _price("gpt-4-turbo", "5", "15", JAN + timedelta(days=10))
    before, at_change, after = (
        JAN + timedelta(days=9, hours=23),
        JAN + timedelta(days=10),
        JAN + timedelta(days=20),
    )
    tokens = {"prompt_tokens": 2_000_000, "completion_tokens": 1_000_000}
    assert llm_call_cost(model="gpt-4-turbo", when=before, **tokens) == Decimal("50")  # 20 + 30
    assert llm_call_cost(model="gpt-4-turbo", when=at_change, **tokens) == Decimal("25")
    assert llm_call_cost(model="gpt-4-turbo", when=after, **tokens) == Decimal("25")


def test_no_price_means_no_cost() -> None:
    _price("gpt-4", "30", "60", JAN)
    assert (
        llm_call_cost(
            model="gpt-4", when=JAN - timedelta(seconds=1), prompt_tokens=1, completion_tokens=1
        )
        is None
    )
    assert llm_call_cost(model="claude-x", when=JAN, prompt_tokens=1, completion_tokens=1) is None
    assert PriceBook([]).price_at("gpt-4", JAN) is None


def test_ingestion_stores_the_cost_at_the_events_time(client: Client, keys: Keys) -> None:
    now = timezone.now()
    _price("gpt-4", "30", "60", now - timedelta(days=30))
    _price("gpt-4", "20", "40", now - timedelta(days=2))
    events = [
        llm_call(
            "old",
            timestamp=(now - timedelta(days=3)).isoformat(),
            prompt_tokens=1000,
            completion_tokens=1000,
        ),
        llm_call(
            "new",
            timestamp=(now - timedelta(days=1)).isoformat(),
            prompt_tokens=1000,
            completion_tokens=1000,
        ),
        llm_call("zero", prompt_tokens=0, completion_tokens=0),
        llm_call("unpriced", model="mystery-model"),
    ]
    response = post_json(client, EVENTS_URL, {"events": events}, key=keys.server)
    assert response.json()["accepted"] == 4
    cost = dict(LlmCall.objects.values_list("event_id", "cost_usd"))
    assert cost["old"] == Decimal("0.09")  # 0.03 + 0.06
    assert cost["new"] == Decimal("0.06")  # 0.02 + 0.04
    assert cost["zero"] == Decimal("0")
    assert cost["unpriced"] is None


def test_demo_prices_load_idempotently_as_examples() -> None:
    assert model_prices_load_demo() == 4
    assert model_prices_load_demo() == 0
    prices = {
        p.model: (p.input_per_million, p.output_per_million, p.cached_input_per_million)
        for p in ModelPrice.objects.all()
    }
    assert prices == {
        "gpt-4": (Decimal("30"), Decimal("60"), None),
        "gpt-4-turbo": (Decimal("10"), Decimal("30"), None),
        "gpt-4o": (Decimal("2.5"), Decimal("10"), Decimal("1.25")),
        "gpt-4o-mini": (Decimal("0.15"), Decimal("0.6"), Decimal("0.075")),
    }
    assert all(p.is_example for p in ModelPrice.objects.all())
    # A price a person saves is theirs, no longer an example.
    row = ModelPrice.objects.get(model="gpt-4")
    model_price_save(
        model="gpt-4",
        input_per_million=Decimal("30"),
        output_per_million=Decimal("60"),
        effective_from=row.effective_from,
        price=row,
    )
    row.refresh_from_db()
    assert not row.is_example


def test_cached_prompt_tokens_cost_the_cached_price() -> None:
    model_price_save(
        model="gpt-4o",
        input_per_million=Decimal("2.5"),
        output_per_million=Decimal("10"),
        cached_input_per_million=Decimal("1.25"),
        effective_from=JAN,
    )
    _price("gpt-4", "30", "60", JAN)
    # 1,000 prompt tokens of which 600 cached: 400 x 2.5e-6 + 600 x 1.25e-6 + 200 x 10e-6
    # = 0.001 + 0.00075 + 0.002
    cost = llm_call_cost(
        model="gpt-4o", when=JAN, prompt_tokens=1000, completion_tokens=200, cached_input_tokens=600
    )
    assert cost == Decimal("0.00375")
    # No cached price: cached tokens cost the input price (the same as no caching).
    assert llm_call_cost(
        model="gpt-4", when=JAN, prompt_tokens=1000, completion_tokens=0, cached_input_tokens=600
    ) == Decimal("0.03")


def test_ingestion_prices_cached_tokens_and_keeps_the_prompt_hash(
    client: Client, keys: Keys
) -> None:
    model_price_save(
        model="gpt-4o",
        input_per_million=Decimal("2.5"),
        output_per_million=Decimal("10"),
        cached_input_per_million=Decimal("1.25"),
        effective_from=timezone.now() - timedelta(days=1),
    )
    digest = "a" * 64
    event = llm_call(
        "c1",
        model="gpt-4o",
        prompt_tokens=1000,
        completion_tokens=200,
        cached_input_tokens=600,
        prompt_hash=digest,
    )
    assert post_json(client, EVENTS_URL, {"events": [event]}, key=keys.server).status_code == 200
    call = LlmCall.objects.get(event_id="c1")
    assert (call.cached_input_tokens, call.prompt_hash) == (600, digest)
    assert call.cost_usd == Decimal("0.00375")
