"""Spend aggregates on simulated traffic with known totals: every grouping, hourly and daily
buckets, the previous period, top conversations and users, and the saving hints."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from costs import hints
from costs.spend import calls_in, spend_by_group, spend_series, spend_totals, top_spenders
from feedback.prices import model_price_save
from feedback.usage import PERIODS, bucket_starts
from flags.models import Environment

from .traffic import call, store

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 20, 12, 30, tzinfo=UTC)
SINCE = NOW - timedelta(days=1)


@pytest.fixture
def traffic(db: Any) -> dict[str, Environment]:
    """8 calls in the last day (total $1.60 priced + 1 unpriced), 2 the day before ($0.50)."""
    prod = Environment.objects.create(key="production", name="Production")
    dev = Environment.objects.create(key="development", name="Development")
    h = NOW.replace(minute=0) - timedelta(hours=1)  # 11:00
    store(
        [
            call(
                prod,
                h + timedelta(minutes=5),
                "0.50",
                model="gpt-4",
                feature="chat",
                user_tier="pro",
                user_key="ann",
                conversation_id="c1",
                prompt_tokens=1000,
                completion_tokens=500,
                flags={"llm-model": "gpt-4"},
            ),
            call(
                prod,
                h + timedelta(minutes=6),
                "0.30",
                model="gpt-4",
                feature="chat",
                user_tier="pro",
                user_key="ann",
                conversation_id="c1",
                prompt_tokens=600,
                completion_tokens=300,
                flags={"llm-model": "gpt-4"},
            ),
            call(
                prod,
                h - timedelta(hours=2),
                "0.20",
                model="gpt-4",
                feature="search",
                user_tier="free",
                user_key="bob",
                conversation_id="c2",
                prompt_tokens=400,
                completion_tokens=200,
                flags={"llm-model": "gpt-4"},
            ),
            call(
                prod,
                h - timedelta(hours=3),
                "0.05",
                model="gpt-4o-mini",
                feature="search",
                user_tier="free",
                user_key="bob",
                conversation_id="c3",
                prompt_tokens=300,
                completion_tokens=100,
                flags={"llm-model": "mini"},
            ),
            call(
                prod,
                h - timedelta(hours=3),
                "0.05",
                model="gpt-4o-mini",
                feature="search",
                user_tier="free",
                user_key="cy",
                conversation_id="c4",
                prompt_tokens=300,
                completion_tokens=100,
                flags={"llm-model": "mini"},
            ),
            call(
                dev,
                h,
                "0.25",
                model="gpt-4o",
                feature="chat",
                user_key="dev",
                prompt_tokens=1000,
                completion_tokens=0,
                cached_input_tokens=400,
            ),
            call(
                dev,
                h,
                "0.25",
                model="gpt-4o",
                feature="chat",
                user_key="dev",
                prompt_tokens=1000,
                completion_tokens=0,
            ),
            call(
                dev,
                h,
                None,
                model="mystery",
                feature="chat",
                prompt_tokens=100,
                completion_tokens=100,
            ),
            # the previous day: $0.50 (gpt-4 $0.40, gpt-4o $0.10)
            call(prod, SINCE - timedelta(hours=5), "0.40", model="gpt-4", feature="chat"),
            call(dev, SINCE - timedelta(hours=5), "0.10", model="gpt-4o", feature="chat"),
        ]
    )
    return {"prod": prod, "dev": dev}


def _window(env: Environment | None = None) -> Any:
    env_id = env.pk if env else None
    return (
        calls_in(since=SINCE, until=NOW, environment_id=env_id),
        calls_in(since=SINCE - timedelta(days=1), until=SINCE, environment_id=env_id),
    )


def test_totals_and_per_query_figures(traffic: dict[str, Environment]) -> None:
    calls, previous = _window()
    totals = spend_totals(calls)
    assert totals.cost == Decimal("1.60") and totals.calls == 8 and totals.unpriced == 1
    # cost per query (catalogue cost_per_call): priced calls only, 1.60 / 7
    assert totals.cost_per_call == pytest.approx(1.60 / 7)
    # tokens per query (catalogue tokens_per_call): (4700 prompt + 1300 completion) / 8
    assert (totals.prompt_tokens, totals.completion_tokens) == (4700, 1300)
    assert totals.tokens_per_call == pytest.approx(6000 / 8)
    assert totals.cached_input_tokens == 400
    assert spend_totals(previous).cost == Decimal("0.50")
    prod_calls, _ = _window(traffic["prod"])
    assert spend_totals(prod_calls).cost == Decimal("1.10")


@pytest.mark.parametrize(
    ("grouping", "expected"),
    [
        ("model", {"gpt-4": "1.00", "gpt-4o": "0.50", "gpt-4o-mini": "0.10", "mystery": "0"}),
        ("feature", {"chat": "1.30", "search": "0.30"}),
        ("user_tier", {"pro": "0.80", "free": "0.30", "(none)": "0.50"}),
        ("environment", {"production": "1.10", "development": "0.50"}),
        ("variant", {"gpt-4": "1.00", "mini": "0.10", "(none)": "0.50"}),
    ],
)
def test_spend_by_each_grouping(
    traffic: dict[str, Environment], grouping: str, expected: dict[str, str]
) -> None:
    calls, previous = _window()
    rows = spend_by_group(calls, previous, grouping=grouping, flag_key="llm-model")
    assert {r.key: r.totals.cost for r in rows} == {k: Decimal(v) for k, v in expected.items()}
    assert rows[0].key == max(expected, key=lambda k: Decimal(expected[k]))


def test_change_against_the_previous_period(traffic: dict[str, Environment]) -> None:
    calls, previous = _window()
    rows = {r.key: r for r in spend_by_group(calls, previous, grouping="model")}
    assert rows["gpt-4"].previous_cost == Decimal("0.40")
    assert rows["gpt-4"].change == pytest.approx(1.5)  # 0.40 -> 1.00
    assert rows["gpt-4o"].change == pytest.approx(4.0)  # 0.10 -> 0.50
    assert rows["gpt-4o-mini"].change is None  # nothing before


def test_hourly_and_daily_series(traffic: dict[str, Environment]) -> None:
    starts = bucket_starts(PERIODS["24h"], NOW)
    calls = calls_in(since=starts[0], until=NOW)
    series = spend_series(calls, starts=starts, grouping="model")
    hour = {s: i for i, s in enumerate(starts)}
    eleven = hour[datetime(2026, 11, 20, 11, tzinfo=UTC)]
    assert series["gpt-4"][eleven] == Decimal("0.80")
    assert series["gpt-4"][hour[datetime(2026, 11, 20, 9, tzinfo=UTC)]] == Decimal("0.20")
    assert sum(series["gpt-4o-mini"]) == Decimal("0.10")
    days = bucket_starts(PERIODS["7d"], NOW)
    daily = spend_series(calls_in(since=days[0], until=NOW), starts=days, grouping="environment")
    assert daily["production"][-1] == Decimal("1.10")
    assert daily["production"][-2] == Decimal("0.40")  # Nov 19, 07:30
    assert sum(daily["development"]) == Decimal("0.60")


def test_top_conversations_and_users(traffic: dict[str, Environment]) -> None:
    calls, _ = _window()
    users = top_spenders(calls, "user_key")
    assert [(u.key, u.cost, u.calls) for u in users] == [
        ("ann", Decimal("0.80"), 2),
        ("dev", Decimal("0.50"), 2),
        ("bob", Decimal("0.25"), 2),
        ("cy", Decimal("0.05"), 1),
    ]
    conversations = top_spenders(calls, "conversation_id", limit=2)
    assert [(c.key, c.cost, c.tokens) for c in conversations] == [
        ("c1", Decimal("0.80"), 2400),
        ("c2", Decimal("0.20"), 600),
    ]


def test_model_shares(traffic: dict[str, Environment]) -> None:
    calls, _ = _window()
    shares = {s.model: s.share for s in hints.model_shares(calls)}
    assert shares == pytest.approx(
        {"gpt-4": 1.00 / 1.60, "gpt-4o": 0.50 / 1.60, "gpt-4o-mini": 0.10 / 1.60, "mystery": 0}
    )


def test_repeated_prompts_a_cache_would_have_saved(db: Any) -> None:
    env = Environment.objects.create(key="production", name="Production")
    when = NOW - timedelta(hours=1)
    store(
        [
            # hash A three times ($0.10, $0.10, $0.12): a cache keeps one, saves >= $0.20
            call(env, when, "0.10", prompt_hash="A"),
            call(env, when, "0.10", prompt_hash="A"),
            call(env, when, "0.12", prompt_hash="A"),
            # hash B twice ($0.05 each): saves $0.05
            call(env, when, "0.05", prompt_hash="B"),
            call(env, when, "0.05", prompt_hash="B"),
            # hash C once, and calls without a hash: nothing to save
            call(env, when, "1.00", prompt_hash="C"),
            call(env, when, "1.00"),
            call(env, when, "1.00"),
        ]
    )
    result = hints.repeated_prompts(calls_in(since=SINCE, until=NOW))
    assert (result.prompts, result.calls, result.repeats) == (2, 5, 3)
    assert result.cost == Decimal("0.42")
    assert result.saving == Decimal("0.25")


def test_short_queries_on_an_expensive_model(db: Any) -> None:
    env = Environment.objects.create(key="production", name="Production")
    start = NOW - timedelta(days=30)
    for model, inp, out, cached in (
        ("gpt-4", "30", "60", None),
        ("gpt-4o-mini", "0.15", "0.6", "0.075"),
    ):
        model_price_save(
            model=model,
            input_per_million=Decimal(inp),
            output_per_million=Decimal(out),
            cached_input_per_million=None if cached is None else Decimal(cached),
            effective_from=start,
        )
    # gpt-4o-mini got cheaper yesterday: the hint uses today's price
    model_price_save(
        model="gpt-4o-mini",
        input_per_million=Decimal("0.10"),
        output_per_million=Decimal("0.40"),
        cached_input_per_million=Decimal("0.05"),
        effective_from=NOW - timedelta(days=1),
    )
    when = NOW - timedelta(hours=1)
    store(
        [
            # short calls on gpt-4: 3 x (400 prompt of which 100 cached, 200 completion)
            *[
                call(
                    env,
                    when,
                    "0.021",
                    model="gpt-4",
                    prompt_tokens=400,
                    cached_input_tokens=100,
                    completion_tokens=200,
                )
                for _ in range(3)
            ],
            # long calls on gpt-4 (not short) and the cheap model in use
            call(env, when, "0.09", model="gpt-4", prompt_tokens=2000, completion_tokens=500),
            call(env, when, "0.001", model="gpt-4o-mini", prompt_tokens=300, completion_tokens=100),
            # an error is not a query that was answered
            call(
                env,
                when,
                "0.021",
                model="gpt-4",
                prompt_tokens=400,
                completion_tokens=200,
                error=True,
            ),
        ]
    )
    [hint] = hints.short_query_routing(calls_in(since=SINCE, until=NOW), now=NOW)
    assert (hint.model, hint.cheaper_model, hint.calls) == ("gpt-4", "gpt-4o-mini", 3)
    assert hint.cost == Decimal("0.063")
    # on gpt-4o-mini today: 900 x 0.10 + 300 x 0.05 + 600 x 0.40, per million = 0.000345
    assert hint.cost_on_cheaper == Decimal("0.000345")
    assert hint.saving == Decimal("0.062655")
