from django.urls import path

from .views import budgets, prices, spend

urlpatterns = [
    path("costs/", spend.cost_page, name="costs"),
    path("costs/budgets/", budgets.budgets_page, name="costs_budgets"),
    path("costs/budgets/<int:pk>/", budgets.budget_edit, name="costs_budget_edit"),
    path("costs/budgets/<int:pk>/delete", budgets.budget_delete, name="costs_budget_delete"),
    path("costs/prices/", prices.model_prices, name="costs_prices"),
    path("costs/prices/<int:pk>/", prices.model_price_edit, name="costs_price_edit"),
]
