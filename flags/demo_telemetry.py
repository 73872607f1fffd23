"""Demo telemetry for `make run`: 30 days of LLM calls, feedback and evaluation counts, so a
newcomer's cost page, a flag's "Usage & outcomes" tab and the feedback inbox show data at once.

Every call is served by the demo flags as the engine evaluates them for its user (the ruleset of
the call's environment, compiled once), so the `flags` stamp, the usage chart and the outcomes
table agree with the targeting on the page. The numbers are invented but shaped like a real app:
more traffic on weekdays and working hours, chat on the `llm-model` flag's model and cheaper
models for summaries and classification, repeated prompts, prompt caching on the gpt-4o family,
and variants that differ (the reranked RAG config and prompt v2.0 get fewer thumbs down).

Seeded (the same rows every time, timed relative to now) and written with bulk_create.
Idempotent: when the first demo call is already stored, nothing is added (Decision in
docs/operations.md, "Demo data").
"""

from __future__ import annotations

import hashlib
import random
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone
from flagsite_sdk.engine import compile_ruleset, evaluate_all

from delivery.models import EvaluationCount
from feedback.ingest import llm_calls_price
from feedback.models import Category, Feedback, FeedbackType, LlmCall

from .models import Environment
from .ruleset import ruleset_build

SEED = 20_240_601
DAYS = 30
# LLM calls per environment: development is where the newcomer looks first (the flag page's
# default environment), production has real-looking volume too.
CALLS = {"development": 1_400, "production": 1_000}
USERS = 160
PREFIX = "demo-"

FEATURES = [("chat", 55), ("search-answer", 20), ("summarize", 18), ("classify", 7)]
# Features not on the llm-model flag run on a fixed model.
FEATURE_MODEL = {"search-answer": "gpt-4o", "summarize": "gpt-4o-mini", "classify": "gpt-4o-mini"}
TIERS = [("free", 60), ("paid", 30), ("enterprise", 10)]
# Relative traffic per hour of the day (UTC), 0-23.
HOURLY = [2, 1, 1, 1, 1, 2, 4, 7, 10, 12, 12, 11, 10, 11, 12, 12, 11, 9, 7, 6, 5, 4, 3, 2]
COMMON_PROMPTS = [
    "How do I reset my password?",
    "Summarise this ticket",
    "What are your opening hours?",
    "Translate to French",
    "Is this email spam?",
    "Cancel my subscription",
    "What's the refund policy?",
    "Classify the sentiment",
]
COMMENTS = {
    Category.HALLUCINATION: ["Cited a setting that does not exist.", "Made up the refund date."],
    Category.IRRELEVANT: ["Answered a different question.", "Didn't use my document."],
    Category.FORMATTING: ["The table came out as one long line.", "Too long, use bullets."],
    Category.SAFETY: ["Shared another customer's email address."],
    Category.OTHER: ["Slow.", "Fine but a bit generic."],
}
PRAISE = ["Exactly what I needed, thanks!", "Great summary.", "Spot on.", ""]


@dataclass(frozen=True)
class _User:
    key: str
    tier: str
    email: str


def _pick(rng: random.Random, weighted: list[tuple[str, int]]) -> str:
    return rng.choices([k for k, _ in weighted], [w for _, w in weighted])[0]


def _users(rng: random.Random) -> list[_User]:
    users = [
        _User(name, "enterprise", f"{name}@flagsite.dev") for name in ("alice", "bob", "carol")
    ]
    for i in range(1, USERS + 1):
        users.append(_User(f"user-{i:03d}", _pick(rng, TIERS), f"user{i}@example.com"))
    return users


def _timestamp(rng: random.Random, now: datetime) -> datetime:
    day = rng.choices(
        range(DAYS), [0.5 if (now - timedelta(days=d)).weekday() >= 5 else 1.0 for d in range(DAYS)]
    )[0]
    hour = rng.choices(range(24), HOURLY)[0]
    start = (now - timedelta(days=day)).replace(hour=hour, minute=0, second=0, microsecond=0)
    at = start + timedelta(seconds=rng.randrange(3600))
    # Today's later hours have not happened yet: fold them into the last hour.
    return at if at <= now else now - timedelta(seconds=rng.randrange(1, 3600))


def _prompt_tokens(rng: random.Random, feature: str, served: dict[str, str]) -> int:
    base = {"chat": 700, "search-answer": 1600, "summarize": 2400, "classify": 180}[feature]
    if feature == "search-answer" and served.get("rag-config") == "reranked":
        base *= 2  # top_k 10 instead of 5 retrieved chunks
    return max(20, int(rng.lognormvariate(0, 0.5) * base))


def _call(
    rng: random.Random,
    *,
    env: Environment,
    n: int,
    user: _User,
    served: dict[str, str],
    model_variant: str,
    when: datetime,
    conversation: str,
) -> LlmCall:
    feature = _pick(rng, FEATURES)
    model = model_variant if feature == "chat" else FEATURE_MODEL[feature]
    prompt_hash = ""
    if feature == "classify" or rng.random() < 0.08:
        text = rng.choice(COMMON_PROMPTS)
        prompt_hash = hashlib.sha256(text.encode()).hexdigest()
    prompt = _prompt_tokens(rng, feature, served)
    if prompt_hash:
        prompt = 60 + len(prompt_hash) % 40  # the same short prompt
    cached = 0
    if model.startswith("gpt-4o") and prompt > 1024 and rng.random() < 0.4:
        cached = 1024  # the shared system prompt, from the provider's prompt cache
    completion = max(5, int(rng.lognormvariate(0, 0.6) * (40 if feature == "classify" else 320)))
    slow = {"gpt-4": 2.0, "gpt-4-turbo": 1.3, "gpt-4o": 1.0, "gpt-4o-mini": 0.6}.get(model, 1.0)
    ttft = rng.lognormvariate(0, 0.35) * 400 * slow
    if served.get("rag-config") == "reranked" and feature == "search-answer":
        ttft += 250
    latency = ttft + completion * 12 * slow * rng.uniform(0.8, 1.2)
    error = rng.random() < (0.04 if model == "gpt-4" else 0.015)
    judged = rng.random() < 0.3
    hallucination_rate = 0.04 if served.get("rag-config") == "reranked" else 0.09
    return LlmCall(
        environment=env,
        event_id=f"{PREFIX}llm-{env.key}-{n:05d}",
        timestamp=when,
        received_at=when + timedelta(milliseconds=rng.randrange(50, 900)),
        request_id=f"{PREFIX}req-{env.key}-{n:05d}",
        conversation_id=conversation,
        user_key=user.key,
        user_tier=user.tier,
        feature=feature,
        model=model,
        prompt_tokens=prompt,
        completion_tokens=0 if error else completion,
        cached_input_tokens=cached,
        prompt_hash=prompt_hash,
        ttft_ms=None if error else round(ttft, 1),
        latency_ms=round(latency if not error else rng.uniform(10_000, 30_000), 1),
        error=error,
        error_type=rng.choice(["timeout", "rate_limit"]) if error else "",
        hallucination=(rng.random() < hallucination_rate) if judged and not error else None,
        safety_violation=(rng.random() < 0.005) if judged and not error else None,
        flags=served,
    )


def _feedback(rng: random.Random, call: LlmCall, n: int) -> Feedback | None:
    if rng.random() > 0.14:
        return None
    down = 0.22
    if call.flags.get("prompt-version") == "v2.0":
        down -= 0.07
    if call.flags.get("rag-config") == "reranked":
        down -= 0.05
    if call.error or call.hallucination:
        down = 0.85
    thumbs_down = rng.random() < down
    category = ""
    comment = rng.choice(PRAISE)
    if thumbs_down:
        category = (
            Category.HALLUCINATION
            if call.hallucination
            else _pick(
                rng,
                [
                    (Category.HALLUCINATION, 30),
                    (Category.IRRELEVANT, 30),
                    (Category.FORMATTING, 20),
                    (Category.SAFETY, 3),
                    (Category.OTHER, 17),
                    ("", 25),
                ],
            )
        )
        comment = rng.choice(COMMENTS[Category(category or Category.OTHER)] + [""])
    rating = None
    if rng.random() < 0.45:
        rating = rng.choice([1, 2, 2, 3]) if thumbs_down else rng.choice([3, 4, 4, 5, 5])
    when = call.timestamp + timedelta(seconds=rng.randrange(5, 600))
    return Feedback(
        environment=call.environment,
        event_id=f"{PREFIX}fb-{call.environment.key}-{n:05d}",
        timestamp=when,
        received_at=when,
        type=FeedbackType.THUMBS_DOWN if thumbs_down else FeedbackType.THUMBS_UP,
        rating=rating,
        comment=comment,
        category=category,
        conversation_id=call.conversation_id,
        request_id=call.request_id,
        user_key=call.user_key,
    )


def _evaluation_counts(
    env: Environment, calls: list[LlmCall], *, now: datetime
) -> list[EvaluationCount]:
    """One evaluation of every flag per call (what the app asked before calling the model),
    counted as the exposure recorder does: per hour for the last two days (the 24-hour chart),
    one row per day at noon before that (the 7- and 30-day charts add up days), which keeps
    the table small."""
    counts: Counter[tuple[str, str, datetime]] = Counter()
    last: dict[tuple[str, str, datetime], datetime] = {}
    hourly_since = now - timedelta(days=2)
    for call in calls:
        hour = call.timestamp.replace(minute=0, second=0, microsecond=0)
        if call.timestamp < hourly_since:
            hour = hour.replace(hour=12)
        for flag_key, variant in call.flags.items():
            bucket = (flag_key, variant, hour)
            counts[bucket] += 1
            last[bucket] = max(last.get(bucket, call.timestamp), call.timestamp)
    return [
        EvaluationCount(
            environment=env, flag_key=f, variant_key=v, hour=h, count=n, last_at=last[(f, v, h)]
        )
        for (f, v, h), n in counts.items()
    ]


def _environment_rows(
    env: Environment, *, calls: int, now: datetime, rng: random.Random
) -> tuple[list[LlmCall], list[Feedback], list[EvaluationCount]]:
    ruleset = compile_ruleset(ruleset_build(env))
    users = _users(rng)
    served_by_user: dict[str, dict[str, tuple[str, Any]]] = {}
    for user in users:
        context = {"key": user.key, "tier": user.tier, "email": user.email}
        served_by_user[user.key] = {
            key: (e.variant, e.value)
            for key, e in evaluate_all(ruleset, context).items()
            if e.variant is not None
        }
    times = sorted(_timestamp(rng, now) for _ in range(calls))
    rows: list[LlmCall] = []
    conversations: dict[str, tuple[str, datetime]] = {}
    for n, when in enumerate(times):
        # A few heavy users, a long tail: the top-users table has something to say.
        heavy = users[3:]
        user = heavy[min(int(rng.paretovariate(1.2)) - 1, len(heavy) - 1)]
        if rng.random() < 0.7:
            user = rng.choice(users)
        served = served_by_user[user.key]
        current = conversations.get(user.key)
        if current is None or when - current[1] > timedelta(minutes=30):
            current = (f"{PREFIX}conv-{env.key}-{n:05d}", when)
        conversations[user.key] = (current[0], when)
        model = served.get("llm-model", ("gpt-4o", "gpt-4o"))[1]
        rows.append(
            _call(
                rng,
                env=env,
                n=n,
                user=user,
                served={key: variant for key, (variant, _) in served.items()},
                model_variant=model if isinstance(model, str) else "gpt-4o",
                when=when,
                conversation=current[0],
            )
        )
    llm_calls_price(rows)
    feedback = [f for n, call in enumerate(rows) if (f := _feedback(rng, call, n)) is not None]
    return rows, feedback, _evaluation_counts(env, rows, now=now)


@transaction.atomic
def demo_telemetry_load(*, now: datetime | None = None) -> dict[str, int]:
    """Seed the demo telemetry once (see the module docstring); returns the rows added."""
    added = {"llm_calls": 0, "feedback": 0, "evaluation_counts": 0}
    if LlmCall.objects.filter(event_id__startswith=PREFIX).exists():
        return added
    now = (now or timezone.now()).astimezone(UTC)
    rng = random.Random(SEED)
    for env in Environment.objects.filter(key__in=CALLS).order_by("sort_order", "id"):
        calls, feedback, counts = _environment_rows(env, calls=CALLS[env.key], now=now, rng=rng)
        LlmCall.objects.bulk_create(calls, batch_size=1_000, ignore_conflicts=True)
        Feedback.objects.bulk_create(feedback, batch_size=1_000, ignore_conflicts=True)
        EvaluationCount.objects.bulk_create(counts, batch_size=1_000, ignore_conflicts=True)
        added["llm_calls"] += len(calls)
        added["feedback"] += len(feedback)
        added["evaluation_counts"] += len(counts)
    return added
