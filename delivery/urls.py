"""The delivery endpoints: SDKs and browsers, authenticated with an environment's API key.
(Events and feedback, also key-authenticated, are in feedback/urls.py.)"""

from django.urls import path

from . import ofrep, views

urlpatterns = [
    path("api/v1/sdk/ruleset", views.RulesetView.as_view(), name="api-ruleset"),
    path("api/v1/evaluate", views.EvaluateView.as_view(), name="api-evaluate"),
    path("ofrep/v1/evaluate/flags", ofrep.OfrepBulkView.as_view(), name="ofrep-bulk"),
    path("ofrep/v1/evaluate/flags/<str:key>", ofrep.OfrepFlagView.as_view(), name="ofrep-flag"),
    path("ofrep/v1/configuration", ofrep.OfrepConfigurationView.as_view(), name="ofrep-config"),
]
