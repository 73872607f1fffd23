"""Feedback.objects.current(): the latest vote per (response, user) counts; earlier votes are
kept as history. Anonymous votes and votes about no response cannot be told apart, so each
counts."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from feedback.inbox import category_counts, vote_counts
from feedback.models import Feedback
from tests.feedback.conftest import keys_create

pytestmark = pytest.mark.django_db


def _vote(env: Any, event_id: str, kind: str, minutes: int, **fields: Any) -> Feedback:
    when = timezone.now() - timedelta(minutes=60 - minutes)
    return Feedback.objects.create(
        environment=env, event_id=event_id, type=kind, timestamp=when, received_at=when, **fields
    )


def test_the_latest_vote_per_response_and_user_counts() -> None:
    env = keys_create().environment
    same = {"request_id": "req-1", "conversation_id": "c-1", "user_key": "ana"}
    _vote(env, "a1", "thumbs_up", 1, **same)
    _vote(env, "a2", "thumbs_down", 2, category="irrelevant", **same)
    _vote(env, "b1", "thumbs_up", 1, request_id="req-1", conversation_id="c-1", user_key="bo")
    # Anonymous votes on the same response, and a vote about no response: each counts.
    _vote(env, "x1", "thumbs_up", 1, request_id="req-1", conversation_id="c-1")
    _vote(env, "x2", "thumbs_down", 2, request_id="req-1", conversation_id="c-1")
    _vote(env, "n1", "thumbs_up", 1, user_key="ana")
    _vote(env, "n2", "thumbs_up", 2, user_key="ana")

    current = set(Feedback.objects.current().values_list("event_id", flat=True))
    assert current == {"a2", "b1", "x1", "x2", "n1", "n2"}
    replaced = dict(Feedback.objects.with_replaced().values_list("event_id", "replaced"))
    assert replaced["a1"] is True and not any(v for k, v in replaced.items() if k != "a1")
    assert Feedback.objects.count() == 7  # nothing is deleted

    votes = {bar.category: bar.count for bar in vote_counts({})}
    assert votes == {"thumbs_up": 4, "thumbs_down": 2}
    reasons = {bar.category: bar.count for bar in category_counts({})}
    assert (reasons["irrelevant"], reasons["uncategorized"]) == (1, 1)


def test_a_vote_in_another_environment_or_response_is_not_a_replacement() -> None:
    dev = keys_create("development").environment
    prod = keys_create("production").environment
    _vote(dev, "d1", "thumbs_up", 1, request_id="req-1", user_key="ana")
    _vote(prod, "p1", "thumbs_down", 2, request_id="req-1", user_key="ana")
    _vote(dev, "d2", "thumbs_down", 3, request_id="req-2", user_key="ana")
    assert Feedback.objects.current().count() == 3


def test_two_votes_in_the_same_instant_keep_the_one_stored_last() -> None:
    env = keys_create().environment
    same = {"request_id": "req-1", "user_key": "ana"}
    _vote(env, "s1", "thumbs_up", 5, **same)
    second = Feedback.objects.create(
        environment=env,
        event_id="s2",
        type="thumbs_down",
        timestamp=Feedback.objects.get(event_id="s1").timestamp,
        received_at=timezone.now(),
        **same,
    )
    assert list(Feedback.objects.current()) == [second]
