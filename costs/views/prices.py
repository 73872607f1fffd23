"""Model prices (USD per million tokens): everyone signed in reads them, admins add and correct
them. The table is `feedback.ModelPrice`, which ingestion reads to price each call."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect

from feedback.models import ModelPrice
from feedback.prices import model_price_save
from flags.policy import access_for, require_admin
from flagsite.rendering import page

from ..forms import ModelPriceForm


def _save(form: ModelPriceForm, price: ModelPrice | None = None) -> None:
    data = form.cleaned_data
    model_price_save(
        model=data["model"],
        input_per_million=data["input_per_million"],
        output_per_million=data["output_per_million"],
        cached_input_per_million=data["cached_input_per_million"],
        effective_from=data["effective_from"],
        price=price,
    )


@login_required
def model_prices(request: HttpRequest) -> HttpResponse:
    form = ModelPriceForm(request.POST or None)
    if request.method == "POST":
        require_admin(request.user)
        if form.is_valid():
            _save(form)
            return redirect("costs_prices")
    status = 400 if form.errors else 200
    prices = ModelPrice.objects.all()
    can_edit = access_for(request.user).is_admin
    return page(
        request,
        "costs/prices.html",
        {
            "prices": prices,
            "form": form,
            "can_edit": can_edit,
            "has_examples": any(p.is_example for p in prices),
        },
        status=status,
    )


@login_required
def model_price_edit(request: HttpRequest, pk: int) -> HttpResponse:
    require_admin(request.user)
    price = get_object_or_404(ModelPrice, pk=pk)
    form = ModelPriceForm(request.POST or None, instance=price)
    if request.method == "POST" and form.is_valid():
        _save(form, price)
        return redirect("costs_prices")
    status = 400 if form.errors else 200
    return page(request, "costs/price_edit.html", {"form": form, "price": price}, status=status)
