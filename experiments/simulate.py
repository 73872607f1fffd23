"""Realistic, seeded traffic for an experiment (`manage.py simulate_traffic`, demo data, tests,
benchmarks): users assigned by the engine exactly as the server would assign them, sessions,
LLM calls with latency / tokens / cost / errors / hallucinations / safety flags, thumbs and
ratings, task completions, hallucination scores from an "LLM judge", returns on later days; each
metric with a true effect per treatment, and optionally a sample ratio mismatch (a share of one
treatment's exposures lost, as a broken logger would lose them).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.utils import timezone
from flagsite_sdk.engine import compile_ruleset, evaluate, experiment_of

from feedback.models import Exposure, Feedback, ImplicitSignal, LlmCall, Score
from flags.ruleset import ruleset_build

from .models import Experiment

# Baselines for the control; a treatment's `Effects` shift them.
BASE = {
    "thumbs_up": 0.70,
    "rating": 3.8,
    "hallucination": 0.04,
    "safety": 0.0005,
    "error": 0.005,
    "latency_ms": 1100.0,
    "ttft_ms": 350.0,
    "tokens": 900.0,
    "task_completed": 0.55,
    "queries_per_session": 3.0,
    "return_days": 0.45,  # chance of coming back on a later day
}


@dataclass(frozen=True)
class Effects:
    """Multiplicative effects of a treatment on the baselines (1.0: none); `thumbs_up` and
    `hallucination` are absolute shifts of the probabilities."""

    thumbs_up: float = 0.04
    hallucination: float = -0.012
    latency: float = 1.08
    tokens: float = 1.08
    error: float = 1.0
    task_completed: float = 0.03


@dataclass
class Simulated:
    users: int = 0
    exposures: int = 0
    calls: int = 0
    feedback: int = 0
    other: int = 0
    by_variant: dict[str, int] = field(default_factory=dict)

    @property
    def events(self) -> int:
        return self.exposures + self.calls + self.feedback + self.other


def _price(model_tokens: int, completion: int) -> Decimal:
    return Decimal(model_tokens * 2.5 + completion * 10) / Decimal(1_000_000)


def traffic_simulate(
    *,
    experiment: Experiment,
    users: int,
    seed: int = 1,
    effects: dict[str, Effects] | None = None,
    srm_loss: float = 0.0,
    days: float = 3.0,
    until: datetime | None = None,
    batch: int = 5000,
) -> Simulated:
    """Write events for `users` users of `experiment` between `until - days` and `until`."""
    rng = random.Random(seed)
    until = until or timezone.now()
    start = until - timedelta(days=days)
    if experiment.started_at is None or experiment.started_at > start:
        # Simulated history: the experiment "started" when its traffic begins.
        experiment.started_at = start
        experiment.save(update_fields=["started_at"])
    ruleset = compile_ruleset(ruleset_build(experiment.environment))
    effects = effects or {t: Effects() for t in experiment.treatments}
    lost_variant = experiment.treatments[0]
    out = Simulated()
    rows: dict[Any, list[Any]] = {}
    env = experiment.environment
    prefix = f"sim-{experiment.key}-{seed}"

    def add(row: Any) -> None:
        rows.setdefault(type(row), []).append(row)
        if sum(len(r) for r in rows.values()) >= batch:
            _flush(rows)

    for i in range(users):
        user = f"{prefix}-u{i}"
        result = evaluate(ruleset, experiment.flag.key, {"key": user})
        if experiment_of(result.rule_id) != experiment.key or result.variant is None:
            continue  # outside the experiment's traffic share
        variant = result.variant
        out.users += 1
        out.by_variant[variant] = out.by_variant.get(variant, 0) + 1
        first = start + timedelta(seconds=rng.random() * days * 86400 * 0.6)
        if not (srm_loss and variant == lost_variant and rng.random() < srm_loss):
            add(_exposure(env, f"{prefix}-x{i}", first, experiment, variant, user))
            out.exposures += 1
        effect = effects.get(variant) if variant != experiment.control else None
        when = first
        for s in range(1 + int(rng.expovariate(1.0))):
            if s and rng.random() < BASE["return_days"]:
                when = when + timedelta(days=1 + rng.random() * 2)
            else:
                when = when + timedelta(minutes=5 + rng.random() * 60)
            if when >= until:
                break
            conversation = f"{prefix}-u{i}-s{s}"
            served = {experiment.flag.key: variant}
            _session(add, out, rng, env, conversation, user, when, served, effect)
    _flush(rows)
    return out


def _exposure(
    env: Any, event_id: str, at: datetime, exp: Experiment, variant: str, user: str
) -> Exposure:
    return Exposure(
        environment=env,
        event_id=event_id,
        timestamp=at,
        received_at=at,
        flag_key=exp.flag.key,
        variant_key=variant,
        user_key=user,
        experiment_key=exp.key,
    )


def _session(
    add: Any,
    out: Simulated,
    rng: random.Random,
    env: Any,
    conversation: str,
    user: str,
    at: datetime,
    flag_map: dict[str, str],
    effect: Effects | None,
) -> None:
    e = effect or Effects(
        thumbs_up=0.0, hallucination=0.0, latency=1.0, tokens=1.0, error=1.0, task_completed=0.0
    )
    queries = 1 + int(rng.expovariate(1 / (BASE["queries_per_session"] - 1)))
    for q in range(queries):
        at = at + timedelta(seconds=20 + rng.random() * 60)
        request = f"{conversation}-q{q}"
        latency = rng.lognormvariate(0, 0.45) * BASE["latency_ms"] * e.latency
        prompt = int(rng.lognormvariate(0, 0.3) * BASE["tokens"] * 0.7 * e.tokens)
        completion = int(rng.lognormvariate(0, 0.4) * BASE["tokens"] * 0.3 * e.tokens)
        hallucinated = rng.random() < BASE["hallucination"] + e.hallucination
        add(
            LlmCall(
                environment=env,
                event_id=request,
                timestamp=at,
                received_at=at,
                request_id=request,
                conversation_id=conversation,
                user_key=user,
                model="gpt-4o",
                prompt_tokens=prompt,
                completion_tokens=completion,
                ttft_ms=latency * 0.3,
                latency_ms=latency,
                error=rng.random() < BASE["error"] * e.error,
                hallucination=hallucinated,
                safety_violation=rng.random() < BASE["safety"],
                flags=flag_map,
                cost_usd=_price(prompt, completion),
            )
        )
        out.calls += 1
        if rng.random() < 0.3:
            up = rng.random() < BASE["thumbs_up"] + e.thumbs_up
            rating = min(5, max(1, round(rng.gauss(BASE["rating"] + (0.3 if up else -0.5), 0.8))))
            add(
                Feedback(
                    environment=env,
                    event_id=f"{request}-f",
                    timestamp=at + timedelta(seconds=5),
                    received_at=at,
                    type="thumbs_up" if up else "thumbs_down",
                    rating=rating if rng.random() < 0.5 else None,
                    category="" if up else ("hallucination" if hallucinated else "irrelevant"),
                    conversation_id=conversation,
                    request_id=request,
                    user_key=user,
                )
            )
            out.feedback += 1
        if rng.random() < 0.1:  # an LLM judge samples 10 % of the answers
            add(
                Score(
                    environment=env,
                    event_id=f"{request}-j",
                    timestamp=at + timedelta(seconds=2),
                    received_at=at,
                    name="relevance",
                    value=min(1.0, max(0.0, rng.gauss(0.8 - (0.3 if hallucinated else 0), 0.1))),
                    source="llm-judge",
                    request_id=request,
                    conversation_id=conversation,
                    user_key=user,
                )
            )
            out.other += 1
    if rng.random() < BASE["task_completed"] + e.task_completed:
        add(
            ImplicitSignal(
                environment=env,
                event_id=f"{conversation}-done",
                timestamp=at + timedelta(seconds=30),
                received_at=at,
                conversation_id=conversation,
                user_key=user,
                signal="task_completed",
            )
        )
        out.other += 1


def _flush(rows: dict[Any, list[Any]]) -> None:
    for model, items in rows.items():
        model.objects.bulk_create(items, batch_size=1000, ignore_conflicts=True)
        items.clear()
