"""POST /api/v1/events accepts `score` events (automated or human evaluation of a response)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from feedback.models import Score

from .conftest import EVENTS_URL, Keys, post_json

pytestmark = pytest.mark.django_db


def _score(event_id: str, **fields: Any) -> dict[str, Any]:
    return {
        "id": event_id,
        "type": "score",
        "timestamp": timezone.now().isoformat(),
        "name": "hallucination",
        "value": 1,
        "source": "llm-judge",
        "request_id": "req-1",
        "conversation_id": "conv-1",
        "user_key": "u-1",
    } | fields


def test_it_stores_a_score(client: Client, keys: Keys) -> None:
    response = post_json(client, EVENTS_URL, {"events": [_score("s-1")]}, key=keys.server)
    assert response.status_code == 200, response.content
    assert response.json()["accepted"] == 1
    score = Score.objects.get()
    assert (score.name, score.value, score.source, score.request_id, score.user_key) == (
        "hallucination",
        1.0,
        "llm-judge",
        "req-1",
        "u-1",
    )


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"name": None}, "name"),
        ({"value": None}, "value"),
        ({"value": "high"}, "value"),
        ({"source": "oracle"}, "source"),
    ],
)
def test_a_bad_score_is_rejected_naming_the_field(
    client: Client, keys: Keys, change: dict[str, Any], field: str
) -> None:
    event = {k: v for k, v in (_score("s-2") | change).items() if v is not None}
    response = post_json(client, EVENTS_URL, {"events": [event]}, key=keys.server)
    assert response.status_code == 400  # nothing in the batch was stored
    (rejected,) = response.json()["rejected"]
    assert field in rejected["errors"]
    assert not Score.objects.exists()
