"""The cost page: the numbers it shows, the htmx partial, and malformed query strings."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from flags.models import Environment

from .traffic import call, store

pytestmark = pytest.mark.django_db
URL = "/costs/"


@pytest.fixture
def spend(db: Any) -> Environment:
    env = Environment.objects.create(key="production", name="Production")
    now = timezone.now()
    store(
        [
            call(
                env,
                now - timedelta(minutes=30),
                "1.25",
                model="gpt-4",
                user_key="ann",
                conversation_id="c1",
                prompt_tokens=100,
                completion_tokens=50,
                prompt_hash="h",
            ),
            call(
                env,
                now - timedelta(minutes=20),
                "0.75",
                model="gpt-4o",
                user_key="bob",
                conversation_id="c2",
                prompt_tokens=300,
                completion_tokens=50,
                prompt_hash="h",
            ),
            call(env, now - timedelta(days=1, hours=2), "1.00", model="gpt-4"),
        ]
    )
    return env


def test_login_is_required(client: Client) -> None:
    for url in (URL, "/costs/budgets/", "/costs/prices/"):
        response = client.get(url)
        assert response.status_code == 302 and "/login/" in response["Location"], url


def test_it_shows_totals_groups_tops_hints_and_a_chart(
    client: Client, viewer_user: Any, spend: Environment
) -> None:
    client.force_login(viewer_user)
    response = client.get(URL, {"period": "24h", "group": "model"})
    assert response.status_code == 200
    html = response.content.decode()
    report = response.context["report"]
    assert report["totals"].cost == Decimal("2") and report["totals"].calls == 2  # any scale
    assert report["previous"].cost == Decimal("1") and report["change"] == pytest.approx(1.0)
    assert 'data-total="cost">$2.00<' in html
    assert "+100.0 % vs previous ($1.00)" in html
    assert 'data-total="cost_per_call">$1.00<' in html  # 2.00 / 2
    assert 'data-total="tokens_per_call">250<' in html  # 500 / 2
    assert 'data-group="gpt-4"' in html and 'data-top-user="ann"' in html
    assert 'data-top-conversation="c1"' in html
    assert '<svg class="cost-chart"' in html and '<rect class="series-0"' in html
    assert 'data-share="gpt-4">62.5 %' in html
    assert 'data-saving="cache">$0.75<' in html  # 2.00 - max 1.25
    assert "USD" in html
    assert "style=" not in html and "<script>" not in html


def test_htmx_gets_only_the_results(client: Client, viewer_user: Any, spend: Environment) -> None:
    client.force_login(viewer_user)
    response = client.get(URL, {"period": "7d", "group": "environment"}, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<div id="cost-results"') and "<html" not in html
    assert 'data-group="production"' in html


def test_a_variant_grouping_names_its_flag(
    client: Client, viewer_user: Any, spend: Environment
) -> None:
    client.force_login(viewer_user)
    response = client.get(URL, {"group": "variant", "flag": "llm-model"})
    assert response.status_code == 200
    assert response.context["report"]["grouping"] == "variant"


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"period": "1y"}, "period"),
        ({"group": "colour"}, "group"),
        ({"env": "nowhere"}, "env"),
        ({"group": "variant"}, "flag"),
        ({"group": "variant", "flag": "bad flag!"}, "flag"),
        ({"flag": "x" * 129}, "flag"),
        ({"period": "\x00"}, "period"),
    ],
)
def test_malformed_queries_are_400_naming_the_field(
    client: Client, viewer_user: Any, spend: Environment, query: dict[str, str], field: str
) -> None:
    client.force_login(viewer_user)
    response = client.get(URL, query)
    assert response.status_code == 400
    assert field in response.context["form"].errors
    assert f'data-error="{field}"' in response.content.decode()


def test_an_empty_installation_shows_no_spend(client: Client, viewer_user: Any) -> None:
    client.force_login(viewer_user)
    response = client.get(URL)
    assert response.status_code == 200
    assert "No LLM calls in this period." in response.content.decode()
