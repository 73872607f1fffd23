"""Budgets: everyone signed in reads them with their current spend; admins add, change and
delete them (docs/costs.md, "Budgets")."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils import timezone
from django.views.decorators.http import require_POST

from flags.policy import access_for, require_admin
from flagsite.rendering import page

from ..budgets import budget_status, costs_time_zone
from ..forms import BudgetForm
from ..models import Budget


@login_required
def budgets_page(request: HttpRequest) -> HttpResponse:
    form = BudgetForm(request.POST or None)
    if request.method == "POST":
        require_admin(request.user)
        if form.is_valid():
            form.save()
            return redirect("costs_budgets")
    now = timezone.now()
    budgets = Budget.objects.select_related("environment")
    return page(
        request,
        "costs/budgets.html",
        {
            "statuses": [budget_status(b, now=now) for b in budgets],
            "form": form,
            "can_edit": access_for(request.user).is_admin,
            "time_zone": costs_time_zone().key,
        },
        status=400 if form.errors else 200,
    )


@login_required
def budget_edit(request: HttpRequest, pk: int) -> HttpResponse:
    require_admin(request.user)
    budget = get_object_or_404(Budget, pk=pk)
    form = BudgetForm(request.POST or None, instance=budget)
    if request.method == "POST" and form.is_valid():
        form.save()
        return redirect("costs_budgets")
    status = 400 if form.errors else 200
    return page(request, "costs/budget_edit.html", {"form": form, "budget": budget}, status=status)


@login_required
@require_POST
def budget_delete(request: HttpRequest, pk: int) -> HttpResponse:
    require_admin(request.user)
    get_object_or_404(Budget, pk=pk).delete()
    return redirect("costs_budgets")
