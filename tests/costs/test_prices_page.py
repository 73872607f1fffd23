"""The model price page (USD per million tokens): everyone reads, only admins add or correct
prices; demo prices are marked as examples."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from feedback.models import ModelPrice
from feedback.prices import model_prices_load_demo

pytestmark = pytest.mark.django_db
URL = "/costs/prices/"
NEW = {
    "model": "acme-large",
    "input_per_million": "2.5",
    "output_per_million": "10",
    "effective_from": "2026-01-01T00:00",
}


def test_a_viewer_reads_prices_but_cannot_add(client: Client, viewer_user: Any) -> None:
    model_prices_load_demo()
    client.force_login(viewer_user)
    response = client.get(URL)
    assert response.status_code == 200
    html = response.content.decode()
    assert "gpt-4-turbo" in html and "$30" in html
    assert "Add price" not in html
    assert "USD" in html and "example" in html
    assert client.post(URL, NEW).status_code == 403
    assert not ModelPrice.objects.filter(model="acme-large").exists()


def test_an_editor_cannot_change_prices(client: Client, editor_user: Any) -> None:
    model_prices_load_demo()
    price = ModelPrice.objects.get(model="gpt-4")
    client.force_login(editor_user)
    assert client.post(URL, NEW).status_code == 403
    assert client.get(f"{URL}{price.pk}/").status_code == 403


def test_an_admin_adds_a_price(client: Client, admin_user: Any) -> None:
    client.force_login(admin_user)
    response = client.post(URL, NEW)
    assert response.status_code == 302
    price = ModelPrice.objects.get(model="acme-large")
    assert (price.input_per_million, price.output_per_million) == (Decimal("2.5"), Decimal("10"))
    assert price.effective_from.isoformat() == "2026-01-01T00:00:00+00:00"


def test_an_admin_corrects_a_price(client: Client, admin_user: Any) -> None:
    model_prices_load_demo()
    price = ModelPrice.objects.get(model="gpt-4")
    client.force_login(admin_user)
    assert client.get(f"{URL}{price.pk}/").status_code == 200
    data = {**NEW, "model": "gpt-4", "input_per_million": "31"}
    assert client.post(f"{URL}{price.pk}/", data).status_code == 302
    price.refresh_from_db()
    assert price.input_per_million == Decimal("31")


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"input_per_million": "cheap"}, "input_per_million"),
        ({"output_per_million": ""}, "output_per_million"),
        ({"model": ""}, "model"),
        ({"effective_from": "someday"}, "effective_from"),
        ({"input_per_million": "-1"}, "input_per_million"),
        ({"cached_input_per_million": "NaN"}, "cached_input_per_million"),
        ({"cached_input_per_million": "-0.5"}, "cached_input_per_million"),
        ({"output_per_million": "1e20"}, "output_per_million"),
    ],
)
def test_malformed_prices_are_400_naming_the_field(
    client: Client, admin_user: Any, changes: dict, field: str
) -> None:
    client.force_login(admin_user)
    response = client.post(URL, {**NEW, **changes})
    assert response.status_code == 400
    assert field in response.context["form"].errors
    assert not ModelPrice.objects.exists()


def test_the_same_model_and_start_twice_is_400(client: Client, admin_user: Any) -> None:
    client.force_login(admin_user)
    client.post(URL, NEW)
    response = client.post(URL, NEW)
    assert response.status_code == 400
    assert ModelPrice.objects.count() == 1


def test_an_unknown_price_is_404(client: Client, admin_user: Any) -> None:
    client.force_login(admin_user)
    assert client.get(f"{URL}9999/").status_code == 404


def test_an_admin_adds_a_cached_input_price(client: Client, admin_user: Any) -> None:
    client.force_login(admin_user)
    response = client.post(URL, {**NEW, "cached_input_per_million": "1.25"})
    assert response.status_code == 302
    price = ModelPrice.objects.get(model="acme-large")
    assert price.cached_input_per_million == Decimal("1.25") and not price.is_example
    assert "$1.25" in client.get(URL).content.decode()


def test_the_old_address_redirects(client: Client, viewer_user: Any) -> None:
    client.force_login(viewer_user)
    response = client.get("/feedback/prices/")
    assert response.status_code == 302 and response["Location"] == URL
