"""Cost aggregates benchmark: the spend page, the budget job and the anomaly check on PostgreSQL.

    .venv/bin/python bench/costs.py [--calls 200000] [--days 30] [--budgets 10]

Creates the database (DATABASE_URL, default postgres://postgres@127.0.0.1:5432/
flagsite_costs_bench; dropped and recreated), migrates it, loads the demo data, inserts `--calls`
LLM calls spread over `--days` days (3 environments, 4 models, 3 features, 2 tiers, a flag
stamp, 1 in 5 with a repeated prompt hash), then times each report once warm:
`cost_report` for every period and grouping, `budgets_check` over `--budgets` budgets (scopes of
every kind), and `anomalies_check`. Prints milliseconds (docs/benchmarks.md, "Costs").
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from datetime import timedelta
from decimal import Decimal

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from bench._server import database_prepare, database_recreate, server_env

DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/flagsite_costs_bench"
MODELS = [
    ("gpt-4", "0.03"),
    ("gpt-4-turbo", "0.01"),
    ("gpt-4o", "0.004"),
    ("gpt-4o-mini", "0.0003"),
]


def _timed(label: str, fn: object, *args: object, **kwargs: object) -> None:
    assert callable(fn)
    fn(*args, **kwargs)  # warm
    start = time.perf_counter()
    fn(*args, **kwargs)
    print(f"{label:<44} {1000 * (time.perf_counter() - start):8.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=200_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--budgets", type=int, default=10)
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL") or DEFAULT_DB
    database_recreate(url)
    env = server_env(DATABASE_URL=url)
    database_prepare(env)
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "flagsite.settings")
    import django

    django.setup()
    from django.utils import timezone

    from costs.anomalies import anomalies_check
    from costs.budgets import budgets_check
    from costs.models import Budget
    from costs.views.spend import cost_report
    from feedback.models import LlmCall
    from flags.demo import demo_data_load
    from flags.models import Environment

    demo_data_load()
    envs = list(Environment.objects.all())
    rng = random.Random(1)
    now = timezone.now()
    span = args.days * 86400
    rows = []
    start = time.perf_counter()
    for n in range(args.calls):
        model, cost = MODELS[n % len(MODELS)]
        when = now - timedelta(seconds=rng.uniform(0, span))
        rows.append(
            LlmCall(
                environment=envs[n % len(envs)],
                event_id=f"b-{n}",
                timestamp=when,
                received_at=when,
                model=model,
                feature=("chat", "search", "summarise")[n % 3],
                user_tier=("free", "paid")[n % 2],
                user_key=f"user-{n % 5000}",
                conversation_id=f"conv-{n // 4}",
                prompt_tokens=200 + n % 1500,
                completion_tokens=50 + n % 500,
                cached_input_tokens=(n % 4) * 50,
                prompt_hash=f"h{n % 1000}" if n % 5 == 0 else "",
                flags={"llm-model": model},
                cost_usd=Decimal(cost),
            )
        )
        if len(rows) == 5000:
            LlmCall.objects.bulk_create(rows)
            rows = []
    LlmCall.objects.bulk_create(rows)
    print(
        f"inserted {args.calls} calls over {args.days} days in {time.perf_counter() - start:.1f} s"
    )
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE feedback_llmcall")
    scopes = [
        ("all", "", ""),
        ("feature", "chat", ""),
        ("model", "gpt-4", ""),
        ("user_tier", "paid", ""),
        ("variant", "gpt-4o", "llm-model"),
    ]
    for i in range(args.budgets):
        scope, value, flag = scopes[i % len(scopes)]
        Budget.objects.create(
            name=f"b{i}",
            scope=scope,
            scope_value=value,
            flag_key=flag,
            period=("day", "month")[i % 2],
            amount_usd=Decimal(10**9),
        )
    for period in ("24h", "7d", "30d"):
        for grouping in ("model", "environment", "variant"):
            _timed(
                f"cost page {period} by {grouping}",
                cost_report,
                period_key=period,
                grouping=grouping,
                env_key="",
                flag_key="llm-model",
            )
    _timed(f"budgets_check ({args.budgets} budgets)", budgets_check)
    _timed(f"anomalies_check ({len(envs)} environments)", anomalies_check)


if __name__ == "__main__":
    main()
