"""The budgets page: everyone reads budgets with their spend, admins add, change and delete
them, and malformed forms are 400 naming the field."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from costs.models import Budget
from flags.models import Environment

from .traffic import call, store

pytestmark = pytest.mark.django_db
URL = "/costs/budgets/"
NEW = {
    "name": "Chat",
    "scope": "feature",
    "scope_value": "chat",
    "period": "month",
    "amount_usd": "250",
    "warning_percent": "80",
    "critical_percent": "100",
    "forecast": "on",
    "enabled": "on",
}


def test_an_admin_adds_a_budget_and_sees_its_spend(client: Client, admin_user: Any) -> None:
    env = Environment.objects.create(key="production", name="Production")
    store([call(env, timezone.now() - timedelta(minutes=5), "50", feature="chat")])
    client.force_login(admin_user)
    assert client.post(URL, NEW).status_code == 302
    budget = Budget.objects.get()
    assert (budget.scope, budget.scope_value, budget.amount_usd) == (
        "feature",
        "chat",
        Decimal(250),
    )
    html = client.get(URL).content.decode()
    assert 'data-budget="Chat"' in html and "$50.00" in html and "20.0 %" in html
    assert "USD" in html


def test_viewers_and_editors_cannot_change_budgets(
    client: Client, viewer_user: Any, editor_user: Any
) -> None:
    budget = Budget.objects.create(name="All", amount_usd=Decimal(10))
    for user in (viewer_user, editor_user):
        client.force_login(user)
        assert client.get(URL).status_code == 200
        assert "Add budget" not in client.get(URL).content.decode()
        assert client.post(URL, NEW).status_code == 403
        assert client.post(f"{URL}{budget.pk}/", NEW).status_code == 403
        assert client.post(f"{URL}{budget.pk}/delete").status_code == 403
    assert Budget.objects.count() == 1


def test_an_admin_changes_and_deletes_a_budget(client: Client, admin_user: Any) -> None:
    budget = Budget.objects.create(name="All", amount_usd=Decimal(10))
    client.force_login(admin_user)
    assert client.get(f"{URL}{budget.pk}/").status_code == 200
    response = client.post(f"{URL}{budget.pk}/", {**NEW, "scope": "all", "scope_value": "x"})
    assert response.status_code == 302
    budget.refresh_from_db()
    assert (budget.name, budget.scope, budget.scope_value) == ("Chat", "all", "")
    assert client.get(f"{URL}{budget.pk}/delete").status_code == 405
    assert client.post(f"{URL}{budget.pk}/delete").status_code == 302
    assert not Budget.objects.exists()
    assert client.get(f"{URL}{budget.pk}/").status_code == 404


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"name": ""}, "name"),
        ({"scope": "planet"}, "scope"),
        ({"scope_value": ""}, "scope_value"),
        ({"scope": "variant", "flag_key": ""}, "flag_key"),
        ({"period": "week"}, "period"),
        ({"amount_usd": "lots"}, "amount_usd"),
        ({"amount_usd": "0"}, "amount_usd"),
        ({"amount_usd": "-5"}, "amount_usd"),
        ({"amount_usd": "NaN"}, "amount_usd"),
        ({"amount_usd": "1e30"}, "amount_usd"),
        ({"warning_percent": "0"}, "warning_percent"),
        ({"warning_percent": "90", "critical_percent": "80"}, "warning_percent"),
        ({"critical_percent": "100000"}, "critical_percent"),
        ({"environment": "999"}, "environment"),
        ({"name": "x" * 129}, "name"),
    ],
)
def test_malformed_budgets_are_400_naming_the_field(
    client: Client, admin_user: Any, changes: dict[str, str], field: str
) -> None:
    client.force_login(admin_user)
    response = client.post(URL, {**NEW, **changes})
    assert response.status_code == 400
    assert field in response.context["form"].errors
    assert not Budget.objects.exists()
