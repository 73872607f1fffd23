"""`make run`'s demo data seeds 30 days of LLM calls and feedback, so the cost page, a flag's
"Usage & outcomes" tab and the feedback inbox show data at once; running it again adds nothing."""

from __future__ import annotations

import re
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.db.models import Count, Max, Min
from django.utils import timezone

from delivery.models import EvaluationCount
from feedback.models import Feedback, LlmCall
from flags.demo_telemetry import CALLS, PREFIX
from tests.flags.ui_support import client_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def seeded(settings: Any) -> None:
    settings.DEBUG = True
    call_command("demo_data", stdout=StringIO())


def _counts() -> tuple[int, int, int, int]:
    """The telemetry's own calls and feedback (the demo experiment simulates traffic of its
    own), and every row, which a second load must not grow."""
    return (
        LlmCall.objects.filter(event_id__startswith=PREFIX).count(),
        Feedback.objects.filter(event_id__startswith=PREFIX).count(),
        EvaluationCount.objects.count(),
        LlmCall.objects.count() + Feedback.objects.count(),
    )


def test_it_seeds_calls_feedback_and_evaluations_once(seeded: None, settings: Any) -> None:
    counts = _counts()
    assert counts[0] == sum(CALLS.values())
    assert counts[1] > 300 and counts[2] > 0

    call_command("demo_data", stdout=StringIO())

    assert _counts() == counts


def test_the_calls_look_like_an_llm_app(seeded: None) -> None:
    calls = LlmCall.objects.filter(event_id__startswith=PREFIX)
    now = timezone.now()
    span = calls.aggregate(first=Min("timestamp"), last=Max("timestamp"))
    assert span["last"] <= now and (now - span["last"]).total_seconds() < 3 * 3600
    assert (now - span["first"]).days >= 25
    models = set(calls.values_list("model", flat=True))
    assert {"gpt-4o", "gpt-4o-mini"} <= models
    assert set(calls.values_list("user_tier", flat=True)) == {"free", "paid", "enterprise"}
    assert len(set(calls.values_list("feature", flat=True))) >= 3
    assert not calls.filter(cost_usd=None).exists()  # every demo model has a price
    assert calls.filter(cached_input_tokens__gt=0).exists()
    repeated = (
        calls.exclude(prompt_hash="").values("prompt_hash").annotate(n=Count("id")).filter(n__gt=1)
    )
    assert repeated.exists()
    # Each call carries the demo flags' variants that served it.
    stamped = calls.first()
    assert stamped is not None
    assert {"llm-model", "prompt-version", "rag-config"} <= set(stamped.flags)
    assert set(calls.values_list("flags__rag-config", flat=True)) == {"baseline", "reranked"}

    feedback = Feedback.objects.filter(event_id__startswith=PREFIX)
    assert {"thumbs_up", "thumbs_down"} == set(feedback.values_list("type", flat=True))
    assert feedback.exclude(category="").exists() and feedback.exclude(rating=None).exists()


def test_the_pages_a_newcomer_opens_show_the_data(seeded: None, admin_user: Any) -> None:
    client = client_for(admin_user)

    costs = client.get("/costs/?period=30d").content.decode()
    assert "gpt-4o-mini" in costs

    usage = client.get("/flags/rag-config/usage/?period=30d").content.decode()
    assert 'class="usage-chart"' in usage and 'data-last="development"><time' in usage
    # The outcomes table has a thumbs-up rate for both variants of the development split.
    for variant in ("baseline", "reranked"):
        assert re.search(rf'data-outcome="{variant}:thumbs_up_rate">\d', usage), variant

    inbox = client.get("/feedback/").content.decode()
    assert "Hallucination" in inbox and "thumbs" in inbox.lower()
